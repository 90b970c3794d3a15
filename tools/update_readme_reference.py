"""Regenerate the config reference inside README.md from the schema: python tools/update_readme_reference.py"""

from __future__ import annotations

import re
from pathlib import Path

from nnrun.config.reference import markdown_reference

README = Path(__file__).parent.parent / "README.md"
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"


def main() -> None:
    text = README.read_text(encoding="utf-8")
    new = re.sub(rf"{re.escape(START)}.*?{re.escape(END)}", lambda _: f"{START}\n{markdown_reference()}{END}", text,
                 flags=re.S)
    README.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    main()
