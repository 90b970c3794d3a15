"""The live displays of ``nnrun sweep`` and ``nnrun train``, driven with synthetic events.

A terminal is a rich Console forced to be one (100 × 40), its output replayed through a small terminal model
(cursor up, erase line, carriage return, scrolling) to get what a user sees on the screen; a pipe is a plain
Console. Checked: aligned columns, the final table on a 40-row screen, parameters with 4 significant digits.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from nnrun.cli.display import TrainingDisplay, epoch_timing
from nnrun.cli.sweep_display import (
    SweepDisplay,
    format_seconds,
    ranked_table,
    table_limit,
    trial_label,
)
from nnrun.sweep.events import EpochEnded, Placement, TrialFinished, TrialStarted
from nnrun.sweep.spec import TrialPoint
from nnrun.trial import TrialResult

WIDTH, HEIGHT = 100, 40
ACT, INIT = "model.hidden.activation", "model.hidden.kernel_initializer"
INITIALIZERS = [
    "zeros",
    "RandomUniform",
    "RandomNormal",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "lecun_normal",
    "he_uniform",
]
CSI = re.compile(r"\x1b\[(\??)([0-9;]*)([A-Za-z])")


def screen(raw: str, height: int = HEIGHT) -> list[str]:
    """The last ``height`` rows a terminal shows after printing ``raw`` (the control sequences rich's Live
    uses: cursor up / to column, erase line, show / hide cursor, colours)."""
    rows, row, col, i = [""], 0, 0, 0
    while i < len(raw):
        match = CSI.match(raw, i)
        if match:
            private, arg, code = match.groups()
            n = int(arg.split(";")[0] or 1) if arg else 1
            if not private and code == "A":
                row = max(0, row - n)
            elif not private and code == "G":
                col = n - 1
            elif not private and code == "K":
                rows[row] = rows[row][:col] if arg in ("", "0") else ""
            i = match.end()
            continue
        char = raw[i]
        if char == "\r":
            col = 0
        elif char == "\n":
            row, col = row + 1, 0
            if row == len(rows):
                rows.append("")
        else:
            line = rows[row].ljust(col)
            rows[row] = line[:col] + char + line[col + 1 :]
            col += 1
        i += 1
    while rows and not rows[-1].strip():
        rows.pop()
    return [r.rstrip() for r in rows[-height:]]


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=WIDTH, height=HEIGHT, color_system=None, record=True)
    return console, out


def pipe() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=False, width=WIDTH, color_system=None), out


def grid() -> list[TrialPoint]:
    """The classic exercise: 3 activations × 8 initializers, labels of different widths."""
    params = [{ACT: a, INIT: k} for a in ("sigmoid", "tanh", "relu") for k in INITIALIZERS]
    return [TrialPoint(f"{i:04d}", p, 0, 1) for i, p in enumerate(params, 1)]


def finished(trial_id: str, value: float, status: str = "completed", seconds: float = 0.3) -> TrialFinished:
    reason = {"completed": "completed 10 of 10 epochs", "failed": "failed: ValueError: boom"}.get(status, status)
    return TrialFinished(trial_id, TrialResult(status=status, stop_reason=reason, duration=seconds), value)


def run_grid(display: SweepDisplay, trials: list[TrialPoint], failed: str | set[str] | None = None) -> None:
    display.on_sweep_begin(Path("runs/sweep-x"), len(trials), len(trials), 2)
    for n, t in enumerate(trials):
        display.on_event(TrialStarted(t.id, Placement("host", 1)))
        display.on_event(EpochEnded(t.id, 1, 10, {"loss": 1.0, "val_accuracy": 0.5}))
        status = "failed" if t.id == failed or (isinstance(failed, set) and t.id in failed) else "completed"
        display.on_event(finished(t.id, 0.5 + n / 100 if status == "completed" else None, status, 0.05 + n))


def ranked_rows(trials: list[TrialPoint]) -> list[dict]:
    return [
        {**t.params, "mean": 0.9 - i / 100, "std": None, "n": 1, "trials": 1, "statuses": ["completed"]}
        for i, t in enumerate(trials)
    ]


# -- the sweep display -----------------------------------------------------------------------------------


def test_done_lines_in_a_pipe_are_full_and_aligned_in_columns():
    console, out = pipe()
    trials = grid()
    display = SweepDisplay(console, trials, "val_accuracy", mode="max")
    run_grid(display, trials, failed="0005")
    display.close()
    lines = out.getvalue().splitlines()
    done = [line for line in lines if line.lstrip().startswith(("done", "FAILED"))]
    assert len(done) == 24  # a pipe keeps a plain line per trial
    assert lines[0] == "Sweep runs/sweep-x : 24 trials, 24 to run, 2 workers"
    # the id, the parameters (padded to the widest label), the metric and the time start in the same columns
    for column in ("00", "activation=", "val_accuracy "):
        assert len({line.index(column) for line in done}) == 1, column
    completed = [line for line in done if "FAILED" not in line]
    assert len({len(line) for line in completed}) == 1  # the time column is right-aligned
    assert completed[0] == (
        "    done 0001  activation=sigmoid, kernel_initializer=zeros           val_accuracy 0.5000    50ms"
    )
    failed = next(line for line in done if "FAILED" in line)
    assert failed.startswith(
        "  FAILED 0005  activation=sigmoid, kernel_initializer=glorot_uniform  val_accuracy      -"
    )
    assert failed.endswith("  failed: ValueError: boom")
    assert lines[-1].startswith("24 trials in ") and lines[-1].endswith(
        ": 23 completed, 1 failed; best val_accuracy 0.7300 (0024)"
    )
    assert display.lines == lines  # the log (log.txt) has what was shown


def test_a_24_trial_sweep_and_its_ranked_table_fit_a_40_row_terminal():
    console, out = terminal()
    trials = grid()
    display = SweepDisplay(console, trials, "val_accuracy", mode="max")
    run_grid(display, trials, failed="0005")
    display.close()
    rows = ranked_rows(trials)
    console.print(ranked_table(rows, [ACT, INIT], "val_accuracy", "max", table_limit(console, len(rows))))
    console.print("Summary: runs/sweep-x/summary.csv")
    console.print("Figures: runs/sweep-x/figures")
    shown = screen(out.getvalue(), height=10_000)  # everything still in the terminal after the sweep
    assert len(shown) <= HEIGHT - 1, "\n".join(shown)  # and a line for the prompt
    assert shown[0] == "Sweep runs/sweep-x : 24 trials, 24 to run, 2 workers"
    assert shown[1].startswith("  FAILED 0005")  # problems stay above the live region; completed trials do not
    assert not any(line.lstrip().startswith("done") for line in shown)
    assert shown[2].startswith("24 trials in ")
    assert shown[3] == "Ranked by val_accuracy (higher is better)"
    assert sum(line.startswith("│") for line in shown) == 24  # every point of the ranked table
    assert shown[-1] == "Figures: runs/sweep-x/figures"
    assert len([line for line in display.lines if "done" in line]) == 23  # the log keeps every trial


def test_many_failures_in_a_terminal_leave_the_table_on_screen():
    console, out = terminal()
    trials = grid()
    display = SweepDisplay(console, trials, "val_accuracy", mode="max")
    long_reason = "failed: " + "a long error message " * 10
    display.on_sweep_begin(Path("runs/sweep-x"), 24, 24, 2)
    for t in trials:
        display.on_event(TrialFinished(t.id, TrialResult(status="failed", stop_reason=long_reason), None))
    display.close()
    rows = [{**r, "mean": None, "statuses": ["failed"]} for r in ranked_rows(trials)]
    console.print(ranked_table(rows, [ACT, INIT], "val_accuracy", "max", table_limit(console, len(rows))))
    console.print("Summary: runs/sweep-x/summary.csv")
    shown = screen(out.getvalue(), height=10_000)
    assert len(shown) <= HEIGHT - 1, "\n".join(shown)
    problems = [line for line in shown if line.lstrip().startswith("FAILED")]
    assert len(problems) == 5 and all(len(line) <= WIDTH and line.endswith("…") for line in problems)
    assert problems[0].startswith("  FAILED 0001  activation=sigmoid, kernel_initializer=zeros  ")
    assert "val_accuracy      -       -  " in problems[0]  # no value, no time: it never ran
    assert shown[6] == "   … and 19 more not completed (log.txt and summary.csv say why)"
    assert shown[7].startswith("24 trials in ") and shown[7].endswith(": 24 failed")
    assert sum(line.startswith("│") for line in shown) == 24
    assert sum(line.lstrip().startswith("FAILED") for line in display.lines) == 24  # the log has every reason
    assert all(line.endswith(long_reason) for line in display.lines if "FAILED" in line)


def test_the_live_region_shows_running_trials_recent_results_and_the_best():
    console, out = terminal()
    trials = grid()
    display = SweepDisplay(console, trials, "val_accuracy", mode="max")
    display.on_sweep_begin(Path("runs/sweep-x"), 24, 24, 2)
    for n, t in enumerate(trials[:6]):
        display.on_event(TrialStarted(t.id, Placement("host", 1)))
        display.on_event(finished(t.id, 0.6 + n / 100 if n != 2 else 0.9))
    for t in trials[6:8]:
        display.on_event(TrialStarted(t.id, Placement("host", 1)))
        display.on_event(EpochEnded(t.id, 3, 10, {"loss": 1.25, "val_accuracy": 0.4321}))
    view = Console(file=io.StringIO(), width=WIDTH, color_system=None, record=True)
    view.print(display.render())
    region = view.export_text().splitlines()
    display.close()
    assert re.match(r"trials .* 6/24 .*ETA .* 2 running$", region[0]), region[0]
    running = [line for line in region if line.lstrip().startswith("ep ")]
    assert [line.split()[2] for line in running] == ["0007", "0008"]
    assert running[0] == (" ep 3/10 0007  activation=sigmoid, kernel_initializer=lecun_normal    val_accuracy 0.4321")
    recent = [line.split()[1] for line in region if line.lstrip().startswith("done")]
    assert recent == ["0003", "0004", "0005", "0006"]  # the last four finished
    assert region[-1].startswith("    best 0003  activation=sigmoid, kernel_initializer=RandomNormal")
    assert region[-1].endswith("val_accuracy 0.9000")
    assert all(len(line) <= WIDTH for line in region)
    assert screen(out.getvalue()) == ["Sweep runs/sweep-x : 24 trials, 24 to run, 2 workers"]  # transient region


def test_random_search_values_show_4_significant_digits():
    lr = "train.optimizer.learning_rate"
    trials = [TrialPoint("0001", {lr: 0.0012345678901, ACT: "relu"}, 0, 1), TrialPoint("0002", {lr: 12.3456789}, 1, 1)]
    assert trial_label(trials[0]) == "learning_rate=0.001235, activation=relu"
    assert trial_label(trials[1]) == "learning_rate=12.35 (repeat 1)"
    assert trials[0].params[lr] == 0.0012345678901  # the point itself (and so the files) keeps every digit
    console, out = pipe()
    display = SweepDisplay(console, trials, "val_loss", mode="min")
    display.on_sweep_begin(Path("runs/s"), 2, 2, 1)
    display.on_event(finished("0001", 0.25))
    assert "learning_rate=0.001235, activation=relu" in out.getvalue()
    assert "0.0012345678901" not in out.getvalue()
    view = Console(file=io.StringIO(), width=WIDTH, color_system=None, record=True)
    rows = [{lr: 0.0012345678901, "mean": 0.25, "std": None, "n": 1, "trials": 1, "statuses": ["completed"]}]
    view.print(ranked_table(rows, [lr], "val_loss", "min"))
    table = view.export_text()
    assert re.search(r"│ +0\.001235 │", table), table  # right-aligned: a number
    assert "0.0012345678901" not in table


def test_the_ranked_table_is_cut_to_the_terminal_with_a_caption():
    trials = [TrialPoint(f"{i:04d}", {ACT: f"a{i}"}, 0, 1) for i in range(60)]
    console, _ = terminal()
    limit = table_limit(console, 60)
    assert limit == HEIGHT - 10
    assert table_limit(console, 20) is None
    assert table_limit(pipe()[0], 60) is None  # a pipe gets every row
    view = Console(file=io.StringIO(), width=WIDTH, color_system=None, record=True)
    view.print(ranked_table(ranked_rows(trials), [ACT], "val_accuracy", "max", limit))
    lines = view.export_text().splitlines()
    assert sum(line.startswith("│") for line in lines) == limit
    assert lines[-1].rstrip() == f"… {60 - limit} more points in summary.csv"
    assert len(lines) + 3 <= HEIGHT  # with the two paths and the prompt


def test_quiet_shows_nothing_but_keeps_the_log():
    console, out = terminal()
    display = SweepDisplay(console, grid()[:2], "val_accuracy", quiet=True, mode="max")
    run_grid(display, grid()[:2])
    display.close()
    assert out.getvalue() == ""
    assert len(display.lines) == 4  # header, two trials, summary


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0.0123, "12ms"), (0.5, "500ms"), (1.25, "1.2s"), (59.9, "59.9s"), (125, "2m05s")]
)
def test_format_seconds(seconds, shown):
    assert format_seconds(seconds) == shown


# -- the training display --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("elapsed", "steps", "shown"),
    [(0.0138, 25, "14ms - 552us/step"), (0.085, 25, "85ms - 3ms/step"), (3.0, 25, "3.0s - 120ms/step")],
)
def test_epoch_timing_uses_ms_and_us_per_step_as_keras(elapsed, steps, shown):
    assert epoch_timing(elapsed, steps) == shown


def drive_training(display: TrainingDisplay, stop_in_epoch: int | None = None) -> None:
    display.on_train_begin(2, 25)
    for epoch in range(2):
        display.on_epoch_begin(epoch)
        for step in range(25):
            display.on_batch_end(step, {"accuracy": 0.5, "loss": 1.25})
            if epoch == stop_in_epoch and step == 9:
                return
        display.on_epoch_end(epoch, {"accuracy": 0.59, "loss": 1.3264, "val_accuracy": 0.76, "val_loss": 1.2067})


def test_training_in_a_pipe_prints_one_line_per_epoch_with_ms():
    console, out = pipe()
    display = TrainingDisplay(console)
    drive_training(display)
    display.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    for n, line in enumerate(lines, 1):
        assert re.fullmatch(
            rf"Epoch {n}/2 - \d+ms - \d+(us|ms)/step - accuracy: 0\.5900 - loss: 1\.3264 - val_accuracy: 0\.7600 "
            r"- val_loss: 1\.2067",
            line,
        ), line
    assert display.lines == lines


def test_training_in_a_terminal_shows_a_bar_with_eta_and_time_per_step_then_epoch_lines():
    console, out = terminal()
    display = TrainingDisplay(console)
    drive_training(display, stop_in_epoch=1)
    display._progress.refresh()
    bar = screen(out.getvalue())
    assert bar[0].startswith("Epoch 1/2 - ")
    assert re.match(r"Epoch 2/2 .* 10/25 ETA \S+ \d+(us|ms)/step - accuracy: 0\.5000 - loss: 1\.2500$", bar[-1]), bar
    display.close()
    shown = screen(out.getvalue())
    assert len(shown) == 1 and shown[0].startswith("Epoch 1/2 - ")  # the bar is gone
    assert display.lines == shown


def test_a_search_trial_is_labelled_by_the_values_it_reports_when_it_finishes():
    """tpe and cmaes choose points as they go: the display learns a trial's values from its result."""
    console, out = pipe()
    display = SweepDisplay(console, [], "val_accuracy", mode="max")
    display.on_sweep_begin(Path("runs/sweep-x"), 1, 1, 1)
    display.on_event(TrialStarted("0001", Placement("host", 1)))
    event = finished("0001", 0.9)
    display.on_event(TrialFinished(event.trial_id, event.result, event.value, {ACT: "relu", "lr": 0.00123456}))
    display.close()
    (done,) = [line for line in out.getvalue().splitlines() if line.lstrip().startswith("done")]
    assert "0001  activation=relu, lr=0.001235  val_accuracy 0.9000" in done
