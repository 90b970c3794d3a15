"""Run names that say what a run is: the config's name plus the overrides typed on the command line.

``nnrun train optimizers.yaml --set train.optimizer.name=adam`` is stored as
``<date>-optimizers-optimizer.name=adam``, not under the base config's name. Keys lose their top-level
section (``train.``, ``model.``, ``data.``) when something follows it; values are kept as typed.
"""

from __future__ import annotations

SECTIONS = ("train", "model", "data")
MAX_NAME = 100  # a config's ``name`` is at most this long, so the run's config.yaml stays a valid config


def override_label(overrides: list[str]) -> str:
    """``["train.optimizer.name=adam", "seed=3"]`` → ``optimizer.name=adam,seed=3``."""
    parts = []
    for item in overrides:
        key, sep, value = item.partition("=")
        head, _, rest = key.strip().partition(".")
        if head in SECTIONS and rest:
            key = rest
        parts.append(f"{key.strip()}{sep}{value.strip()}")
    return ",".join(parts)


def default_run_name(config_name: str, overrides: list[str]) -> str:
    """The config's name, followed by the overrides when there are any, elided to :data:`MAX_NAME`
    characters (status.json keeps every override)."""
    if not overrides:
        return config_name
    name = f"{config_name}-{override_label(overrides)}"
    return name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…"
