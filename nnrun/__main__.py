"""``python -m nnrun``."""

from nnrun.cli import main

main()
