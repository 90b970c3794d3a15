"""Every command and Python block of README.md runs, so the README cannot drift from the code.

Fenced ```bash blocks run line by line (``\\`` continues a line, ``&&`` chains run in turn) through bash, in
one scratch working directory holding a copy of ``configs/`` and ``examples/``, in README order (a later
command may use an earlier one's runs); ``nnrun`` and ``python`` are this interpreter's. ``nnrun train`` and
``nnrun sweep`` get ``--set train.epochs=1``; ```python blocks run with every ``epochs=N`` made ``epochs=1``.
Each command must exit 0, or the code a trailing ``# exit N`` comment documents. A ```text block's ``$ ``
lines are commands too (a transcript): they run the same way, and one whose shown output starts with
``error:`` must fail with that first error line on stderr. Example run folders
(``runs/20261130-182832-mnist-mlp``, ``runs/sweep-20261201-*``) stand for the newest folder of that name
the earlier commands wrote. A ```yaml block headed ``# NAME.yaml`` that names no file of the repository is a
file the README gives (``bad.yaml``): it is written to the scratch directory first.

Nothing is skipped silently: a block is skipped only by its language (``NOT_RUN``: output without ``$ ``
lines, config excerpts, which are compared with ``configs/`` instead), by a ``<!-- readme-test: skip REASON -->`` comment right before it, or a command by a rule of
``SKIPPED_COMMANDS`` (installs, cluster and server commands, the test suite itself); any other command
fails :func:`test_every_readme_command_has_a_rule` until it runs here or gets a rule. Skips show with ``-rs``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from nnrun.config import load_config

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COPIED = ("configs", "examples", "nnrun.schema.json")  # what README commands may name, copied to the scratch dir
EPOCHS = 1
TIMEOUT = 600  # seconds per command

RUN = {"bash", "sh", "shell", "console"}
NOT_RUN = {
    "text": "terminal output or a usage synopsis, not a command",
    "yaml": "a config excerpt: compared with configs/ by test_readme_config_excerpts_match_the_configs",
    "yml": "a config excerpt (as yaml)",
    "json": "a data excerpt",
    "toml": "a settings excerpt",
    "": "an unlabelled block: label it bash, python or text",
}
SKIPPED_COMMANDS = [  # (regular expression on the command, why it does not run here)
    (r"^pip (install|uninstall)\b", "installs packages (needs the network; the test runs the installed package)"),
    (r"^python -m pytest\b|^pytest\b", "the test suite itself, which this test is part of"),
    (r"^ray (start|stop)\b", "starts or stops a node of a Ray cluster"),
    (r"^nnrun sweep .*--address\b", "joins a running Ray cluster (started by `ray start`)"),
    (r"^(mlflow (ui|server)|tensorboard)\b", "a server that runs until stopped"),
    (r"\b(https?|ray)://(?!(127\.0\.0\.1|localhost)\b)", "talks to a server on another machine"),
    (r"^python benchmarks/", "a benchmark: minutes of CPU, and PyTorch for the comparison"),
    (r"^(apt-get|apt|sudo|git clone|cd)\b", "sets up the machine or the checkout"),
]
SKIP_MARK = re.compile(r"<!--\s*readme-test:\s*skip\b\s*(.*?)\s*-->")
EXIT_COMMENT = re.compile(r"#.*\bexit(?: code)? (\d+)\b")


@dataclass
class Block:
    """A fenced block of the README: its language, first line number, text and the skip comment before it."""

    lang: str
    line: int
    text: str
    skip: str | None = None
    commands: list[Command] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.lang or 'plain'}"


@dataclass
class Command:
    """One shell command of a block (``&&`` chains split), the exit code it documents, and its skip reason."""

    text: str
    line: int
    exit_code: int = 0
    skip: str | None = None
    error: str | None = None  # a transcript's documented first error line: the command must fail with it


def parse_readme(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text, each with its commands when it is a shell block."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^\s*(```+|~~~+)\s*([\w+-]*)", lines[i])
        if not opening:
            i += 1
            continue
        fence, lang = opening.group(1), opening.group(2).lower()
        start = i + 1
        j = start
        while j < len(lines) and not lines[j].strip().startswith(fence):
            j += 1
        before = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        mark = SKIP_MARK.search(before)
        block = Block(lang, start, "\n".join(lines[start:j]), (mark.group(1) or "no reason given") if mark else None)
        if lang in RUN:
            block.commands = shell_commands(block.text, start + 1)
        elif lang == "text":
            block.commands = transcript_commands(block.text, start + 1)
        blocks.append(block)
        i = j + 1
    return blocks


def shell_commands(text: str, first_line: int) -> list[Command]:
    """A shell block's commands: ``\\`` continuations joined, comments and a ``$`` prompt removed, ``&&``
    chains split; each with the exit code a trailing ``# exit N`` documents and the rule that skips it."""
    commands: list[Command] = []
    pending, start = "", first_line
    for number, raw in enumerate(text.splitlines(), first_line):
        if not pending:
            start = number
        pending += raw.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        line, pending = pending.strip(), ""
        line = line[2:] if line.startswith("$ ") else line
        code, comment = split_comment(line)
        if not code:
            continue
        exit_code = int(m.group(1)) if (m := EXIT_COMMENT.search(comment)) else 0
        for part in re.split(r"\s+&&\s+", code):
            commands.append(Command(part.strip(), start, exit_code, skip_reason(part.strip())))
    return commands


def transcript_commands(text: str, first_line: int) -> list[Command]:
    """The ``$ `` lines of a terminal transcript; one whose output starts with ``error:`` expects that error."""
    lines = text.splitlines()
    commands: list[Command] = []
    for k, raw in enumerate(lines):
        if not raw.startswith("$ "):
            continue
        output = next((line.strip() for line in lines[k + 1 :] if line.strip()), "")
        error = output if output.startswith("error:") else None
        for command in shell_commands(raw, first_line + k):
            command.error, command.exit_code = error, command.exit_code if error is None else -1
            commands.append(command)
    return commands


def split_comment(line: str) -> tuple[str, str]:
    """``(command, comment)``: the comment starts at a ``#`` outside quotes that begins a word."""
    quote = None
    for k, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (k == 0 or line[k - 1].isspace()):
            return line[:k].strip(), line[k:]
    return line.strip(), ""


def skip_reason(command: str) -> str | None:
    return next((reason for pattern, reason in SKIPPED_COMMANDS if re.search(pattern, command)), None)


def runnable(command: str) -> bool:
    """Whether this test knows how to run the command here: nnrun's CLI, Python scripts, and commands that
    only read files (``head -2 predictions.csv``)."""
    return bool(re.match(r"^(nnrun|python3?|head|tail|cat|ls|wc|grep|diff|cmp)\b", command))


def small(command: str) -> str:
    """The command with ``--set train.epochs=1`` when it trains (``nnrun train`` / ``nnrun sweep``, not a
    resume, which keeps its sweep), placed before any pipe or redirection."""
    if not re.match(r"^nnrun (train|sweep)\b", command) or "--resume" in command or "train.epochs" in command:
        return command
    head, sep, tail = _shell_split(command)
    return f"{head} --set train.epochs={EPOCHS}{sep}{tail}"


def _shell_split(command: str) -> tuple[str, str, str]:
    """``(command, operator, rest)`` at the first ``|``, ``>``, ``<`` or ``;`` outside quotes."""
    quote = None
    for k, char in enumerate(command):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "|><;":
            return command[:k].rstrip(), " " + char, command[k + 1 :]
    return command, "", ""


EXAMPLE_RUN = re.compile(r"\bruns/(sweep-)?(\d{8})-(\d{6}|\*)(-[\w.,=+-]*[\w])?")


def real_runs(text: str, work: Path) -> str:
    """Example run folders made real: ``runs/20261130-182832-mnist-mlp`` becomes the newest folder of
    ``work/runs`` named ``<date-time>-mnist-mlp`` (or ``…-mnist-mlp-2``), ``runs/sweep-20261201-*`` becomes
    ``runs/sweep-*``. Left as written when no such folder exists (the command then says so)."""

    def replace(match: re.Match) -> str:
        sweep, _, clock, name = match.group(1) or "", match.group(2), match.group(3), match.group(4) or ""
        if clock == "*":
            return f"runs/{sweep}*{name}"
        pattern = re.compile(rf"{sweep}\d{{8}}-\d{{6}}{re.escape(name)}(-epochs={EPOCHS})?(-\d+)?")  # as --set names it
        found = sorted(f.name for f in (work / "runs").glob(f"{sweep}*") if pattern.fullmatch(f.name))
        return f"runs/{found[-1]}" if found else match.group(0)

    return EXAMPLE_RUN.sub(replace, text)


def small_python(code: str) -> str:
    """A Python block with every ``epochs=N`` made ``epochs=1``."""
    return re.sub(r"\bepochs\s*=\s*\d+", f"epochs={EPOCHS}", code)


def given_file(block: Block) -> str | None:
    """The file a yaml block is, when its first line names one (``# configs/mnist_mlp.yaml``, ``# bad.yaml``)."""
    named = re.match(r"#\s*([\w./-]+\.ya?ml)\s*$", block.text.strip().splitlines()[0]) if block.text.strip() else None
    return named.group(1) if named and block.lang in ("yaml", "yml") else None


BLOCKS = parse_readme(README.read_text(encoding="utf-8"))


# -- the harness itself (fast) ---------------------------------------------------------------------------


def test_every_readme_command_has_a_rule():
    """Every shell command either runs here or is skipped by a listed rule; every block's language is known."""
    unknown = [f"README.md:{b.line} ```{b.lang}" for b in BLOCKS if b.lang not in RUN | NOT_RUN.keys() | {"python"}]
    assert not unknown, f"blocks of a language this test has no rule for: {unknown}"
    orphans = [
        f"README.md:{c.line}: {c.text}"
        for b in BLOCKS
        if b.skip is None
        for c in b.commands
        if c.skip is None and not runnable(c.text)
    ]
    assert not orphans, (
        "commands that neither run here nor match a rule of SKIPPED_COMMANDS (add one with its reason, or put "
        f"<!-- readme-test: skip REASON --> before the block): {orphans}"
    )
    assert any(b.lang in RUN | {"python"} and b.skip is None for b in BLOCKS), "the README has nothing to run"


def test_the_parser_splits_chains_continuations_comments_and_exit_codes():
    text = (
        "```bash\n"
        "# a comment line\n"
        "pip install . && nnrun train configs/a.yaml   # train it\n"
        "nnrun sweep configs/s.yaml \\\n"
        "    --workers 2 | tail -3\n"
        "$ nnrun check bad.yaml   # exit 2\n"
        "```\n"
        "<!-- readme-test: skip needs a GPU -->\n"
        "```python\nfit(x, epochs=10)\n```\n"
        "```text\n$ nnrun runs\n```\n"
    )
    blocks = parse_readme(text)
    assert [(b.lang, b.line, b.skip) for b in blocks] == [
        ("bash", 1, None),
        ("python", 9, "needs a GPU"),
        ("text", 12, None),
    ]
    commands = blocks[0].commands
    assert [(c.text, c.line, c.exit_code) for c in commands] == [
        ("pip install .", 3, 0),
        ("nnrun train configs/a.yaml", 3, 0),
        ("nnrun sweep configs/s.yaml      --workers 2 | tail -3", 4, 0),
        ("nnrun check bad.yaml", 6, 2),
    ]
    assert commands[0].skip is not None and commands[1].skip is None
    assert small(commands[1].text) == "nnrun train configs/a.yaml --set train.epochs=1"
    assert small(commands[2].text) == "nnrun sweep configs/s.yaml      --workers 2 --set train.epochs=1 | tail -3"
    assert small("nnrun sweep --resume runs/sweep-x") == "nnrun sweep --resume runs/sweep-x"
    assert small("nnrun check configs/a.yaml") == "nnrun check configs/a.yaml"
    assert small_python(blocks[1].text) == "fit(x, epochs=1)"
    transcript = blocks[2].commands
    assert [(c.text, c.line, c.error) for c in transcript] == [("nnrun runs", 13, None)]


def test_transcripts_and_example_run_folders(tmp_path):
    text = (
        "```text\n$ nnrun train bad.yaml\nerror: bad.yaml: 3 problems:\n  x\n$ head -2 p.csv   # two lines\na,b\n```\n"
    )
    commands = parse_readme(text)[0].commands
    assert [(c.text, c.line, c.error) for c in commands] == [
        ("nnrun train bad.yaml", 2, "error: bad.yaml: 3 problems:"),
        ("head -2 p.csv", 5, None),
    ]
    assert all(runnable(c.text) for c in commands)
    for name in (
        "20261130-101010-mnist-mlp",
        "20261130-101011-mnist-mlp-epochs=1-2",
        "20261130-101012-mnist-mlp-epochs=3",
    ):
        (tmp_path / "runs" / name).mkdir(parents=True)
    assert real_runs("nnrun evaluate runs/20261201-000000-mnist-mlp", tmp_path) == (
        "nnrun evaluate runs/20261130-101011-mnist-mlp-epochs=1-2"
    )
    assert real_runs('load_run("runs/20261201-000000-mnist-mlp-epochs=3")', tmp_path) == (
        'load_run("runs/20261130-101012-mnist-mlp-epochs=3")'
    )
    assert (
        real_runs("nnrun track runs/sweep-20261201-* --tensorboard", tmp_path)
        == "nnrun track runs/sweep-* --tensorboard"
    )
    assert real_runs("nnrun plot runs/20261201-000000-other", tmp_path) == "nnrun plot runs/20261201-000000-other"
    assert skip_reason("nnrun track runs/x --mlflow http://mlflow.internal:5000") is not None
    given = parse_readme("```yaml\n# bad.yaml\nmodel: {}\n```\n```yaml\n# configs/mnist_mlp.yaml\nseed: 1\n```\n")
    assert [given_file(b) for b in given] == ["bad.yaml", "configs/mnist_mlp.yaml"]
    assert skip_reason("nnrun train c.yaml --mlflow http://127.0.0.1:5000") is None


def test_readme_config_excerpts_match_the_configs():
    """A ```yaml block is what a config holds: the file its first line names (``# configs/X.yaml``), or else some
    file of ``configs/``, has the same value at each of the block's top-level keys; an excerpt that no file
    holds (``tracking:`` settings) must at least validate within the quickstart config."""
    configs = {p.relative_to(ROOT).as_posix(): yaml.safe_load(p.read_text()) for p in (ROOT / "configs").glob("*.yaml")}
    for block in (b for b in BLOCKS if b.lang in ("yaml", "yml") and b.skip is None):
        excerpt = yaml.safe_load(block.text)
        assert isinstance(excerpt, dict), f"README.md:{block.line}: a yaml block that is not a mapping"
        named = given_file(block)
        if named is not None and not (ROOT / named).exists():
            continue  # a file the README gives (written for the commands), not an excerpt
        candidates = [named] if named else list(configs)
        matching = [n for n in candidates if all((configs.get(n) or {}).get(k) == v for k, v in excerpt.items())]
        if not matching and not named:
            base = dict(configs["configs/mnist_mlp.yaml"])
            load_config(text=yaml.safe_dump({**base, **excerpt}))  # a ConfigError names the excerpt's problem
            continue
        assert matching, (
            f"README.md:{block.line}: the yaml block matches none of {candidates} (keys {sorted(excerpt)}); "
            "fix the excerpt, or put <!-- readme-test: skip REASON --> before it"
        )


# -- running the README (slow) ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A scratch directory with the files README commands name, and an environment where ``nnrun`` and
    ``python`` are this interpreter's."""
    work = tmp_path_factory.mktemp("readme")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, work / name)
    for block in BLOCKS:  # the files the README gives
        name = given_file(block)
        if name is not None and not (ROOT / name).exists() and block.skip is None:
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_text(block.text + "\n", encoding="utf-8")
    bin_dir = work / ".bin"
    bin_dir.mkdir()
    python = shlex.quote(sys.executable)  # a wrapper, not a link: a link outside the venv would leave it
    for name, line in (
        ("nnrun", f'{python} -m nnrun "$@"'),
        ("python", f'{python} "$@"'),
        ("python3", f'{python} "$@"'),
    ):
        (bin_dir / name).write_text(f"#!/bin/sh\nexec {line}\n")
        (bin_dir / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NNRUN_")}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", MPLBACKEND="Agg", PYTHONPATH=str(ROOT))
    return work, env


def run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


@pytest.mark.slow
@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_readme_block_runs(block: Block, workdir: tuple[Path, dict[str, str]]):
    work, env = workdir
    if block.skip is not None:
        pytest.skip(f"README.md:{block.line}: <!-- readme-test: skip {block.skip} -->")
    if block.lang in NOT_RUN and not block.commands:
        pytest.skip(f"README.md:{block.line}: ```{block.lang}: {NOT_RUN[block.lang]}")
    if block.lang == "python":
        script = work / f"readme_block_{block.line}.py"
        script.write_text(real_runs(small_python(block.text), work), encoding="utf-8")
        done = run(f"python {script.name}", work, env)
        assert done.returncode == 0, (
            f"README.md:{block.line} (python block)\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
        return
    assert block.lang in RUN or block.commands, f"README.md:{block.line}: no rule for ```{block.lang} blocks"
    skipped = []
    for command in block.commands:
        if command.skip is not None:
            skipped.append(f"{command.text!r} ({command.skip})")
            continue
        shown = real_runs(small(command.text), work)
        done = run(shown, work, env)
        where = f"README.md:{command.line}: `{shown}` exited {done.returncode}"
        output = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        if command.error is not None:
            assert done.returncode != 0, f"{where}, but the README shows it failing: {command.error}\n{output}"
            assert " ".join(command.error.split()) in " ".join(done.stderr.split()), (
                f"{where} with another error than the README shows ({command.error})\n{output}"
            )
        else:
            assert done.returncode == command.exit_code, f"{where}, expected {command.exit_code}\n{output}"
    if skipped and all(c.skip is not None for c in block.commands):
        pytest.skip(f"README.md:{block.line}: every command skipped: {'; '.join(skipped)}")
