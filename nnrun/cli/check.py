"""``nnrun check CONFIG``: validate a config, show it resolved and the model summary; train nothing."""

from __future__ import annotations

import yaml

from nnrun.cli.common import ConfigArg, DebugOpt, SetOpt, overrides, stdout
from nnrun.cli.errors import cli_errors
from nnrun.config import load_config
from nnrun.config.build import build_model
from nnrun.experiment import prepare


def check(config: ConfigArg, set_: SetOpt = None, debug: DebugOpt = False) -> None:
    """Validate CONFIG, print it with every default filled in, and print the model's summary."""
    with cli_errors(debug):
        experiment = prepare(load_config(config, overrides(set_)))
        model = build_model(experiment.config, tuple(experiment.dataset.x_train.shape[1:]))
    stdout.print(f"# {config}: valid. Resolved config ({experiment.dataset.source}):", highlight=False, markup=False)
    stdout.print(yaml.safe_dump(experiment.config.to_yaml_dict(), sort_keys=False), highlight=False, markup=False)
    lines: list[str] = []
    model.summary(line_length=88, print_fn=lines.append)
    stdout.print("".join(lines).rstrip("\n"), highlight=False, markup=False)
