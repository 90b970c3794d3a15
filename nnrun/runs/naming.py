"""Run names that say what a run is: the config's name plus the overrides typed on the command line.

``nnrun train optimizers.yaml --set train.optimizer.name=adam`` is stored as
``<date>-optimizers-optimizer.name=adam``, not under the base config's name. Keys lose their top-level
section (``train.``, ``model.``, ``data.``) when something follows it; values are kept as typed.
"""

from __future__ import annotations

SECTIONS = ("train", "model", "data")
MAX_LABEL = 80  # characters of overrides in a name; the rest is elided (the run folder keeps them all)


def override_label(overrides: list[str]) -> str:
    """``["train.optimizer.name=adam", "seed=3"]`` → ``optimizer.name=adam,seed=3``."""
    parts = []
    for item in overrides:
        key, sep, value = item.partition("=")
        head, _, rest = key.strip().partition(".")
        if head in SECTIONS and rest:
            key = rest
        parts.append(f"{key.strip()}{sep}{value.strip()}")
    label = ",".join(parts)
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def default_run_name(config_name: str, overrides: list[str]) -> str:
    """The config's name, followed by the overrides when there are any."""
    return f"{config_name}-{override_label(overrides)}" if overrides else config_name
