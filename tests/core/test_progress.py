"""Progress that any log shows: plain training lines off a terminal, timed lines for long loops."""

from __future__ import annotations

import io
import re
import sys
import types

import numpy as np
import pytest

import vamoh
from vamoh import progress
from vamoh.progress import plain_lines_wanted, progress_report, quiet
from vamoh.toy import ToyModality
from vamoh.training_progress import PlainProgress, progress_settings

TINY = {
    "dim_z": 4,
    "n_components": 2,
    "fourier_features": 8,
    "encoder_centroids": [8, 2],
    "encoder_neighbours": [4, 2],
    "encoder_channels": [8, 8],
    "encoder_weight_net": [4],
    "hypernet_layers": [16],
    "generator_layers": [8],
    "categorical_layers": [8],
    "flow_layers": 2,
    "batch_size": 4,
    # the training machinery on samples (a backbone fit trains on task examples)
    "conditioning": "global",
}


def functions(n: int = 18) -> np.ndarray:
    x = np.linspace(0, 3, 24)
    rng = np.random.default_rng(0)
    return np.sin(x * rng.uniform(1, 2, (n, 1)) + rng.uniform(0, 3, (n, 1)))


def fit_toy(config: dict | None = None, **kwargs) -> vamoh.Model:
    with vamoh.plugins.registered(ToyModality.plugin()):
        return vamoh.fit(
            functions(), modality="toy", report=False, config={**TINY, **(config or {})}, **kwargs
        )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# -- training -------------------------------------------------------------------------------
def test_a_fit_off_a_terminal_prints_plain_lines_with_every_field(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # captured stdout is not a terminal: vamoh.fit chooses the plain lines by itself
    fit_toy(max_epochs=3)
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("vamoh fit:")]
    assert lines[0].startswith("vamoh fit: training on 1 cpu process | 4 steps per epoch")
    assert "stops at 3 epochs x 4 steps" in lines[0]  # (and the default CPU time budget)
    assert lines[1].startswith("vamoh fit: step 1/12 | epoch 1/3 | train_loss ")
    assert lines[-1].startswith("vamoh fit: finished at step 12, epoch 3/3, after ")
    assert "max epochs reached (3)" in lines[-1] and "val_rmse" in lines[-1]
    assert "\r" not in out and "\x1b[" not in out  # no bar redraws in the log


def test_lines_every_step_carry_step_epoch_losses_elapsed_and_eta(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fit_toy(max_epochs=3, trainer={"callbacks": [PlainProgress(every_steps=1)]})
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("vamoh fit: step")]
    assert len(lines) == 12  # one per optimizer step
    pattern = re.compile(
        r"vamoh fit: step (\d+)/12 \| epoch (\d)/3 \| train_loss \S+( val_loss \S+ val_rmse \S+)?"
        r" \| \d+s elapsed \| eta \d+s"
    )
    matches = [pattern.fullmatch(line) for line in lines]
    assert all(matches), lines
    assert [int(m.group(1)) for m in matches] == list(range(1, 13))
    assert [int(m.group(2)) for m in matches] == [1] * 4 + [2] * 4 + [3] * 4
    # validation scores appear once the first epoch has been validated
    assert not matches[3].group(3) and all(m.group(3) for m in matches[4:])


def test_a_long_validation_prints_lines_too(capsys: pytest.CaptureFixture[str]) -> None:
    fit_toy(max_epochs=1, trainer={"callbacks": [PlainProgress(every_seconds=1e-9)]})
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" | ")[0] for line in lines if "validating" in line] == [
        "vamoh fit: validating: batch 1/1"
    ]


def test_the_last_line_says_why_training_ended(capsys: pytest.CaptureFixture[str]) -> None:
    fit_toy(max_epochs=50, trainer={"max_steps": 5})
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "finished at step 5, epoch 2/50," in last and "max steps reached (5)" in last
    fit_toy(max_epochs=10_000, trainer={"max_time": {"seconds": 1}})
    out = capsys.readouterr().out
    assert "stops at 10000 epochs x 4 steps, a time limit of 1s" in out
    assert "time limit reached (1s)" in out
    fit_toy(max_epochs=50, config={"lr": 0.0, "early_stopping_patience": 1})
    out = capsys.readouterr().out
    assert "early stopping on val_loss (patience 1)" in out
    assert "early stopping: Monitored metric val_loss did not improve" in out


def test_progress_false_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    fit_toy(max_epochs=2, progress=False)
    assert "vamoh fit" not in capsys.readouterr().out


def test_a_terminal_keeps_lightnings_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", Terminal())
    settings = {"enable_progress_bar": True, "callbacks": []}
    assert progress_settings(settings, True) == settings
    assert progress_settings({"enable_progress_bar": False, "callbacks": []}, False) == {
        "enable_progress_bar": False,
        "callbacks": [],
    }
    # a notebook gets the plain lines even though its stream claims to be a terminal
    shell = type("ZMQInteractiveShell", (), {})()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert plain_lines_wanted()
    chosen = progress_settings(settings, True)
    assert not chosen["enable_progress_bar"]
    assert [type(c) for c in chosen["callbacks"]] == [PlainProgress]


def test_a_callers_progress_callback_is_kept() -> None:
    import lightning.pytorch as pl

    bar = pl.callbacks.TQDMProgressBar(refresh_rate=10)
    settings = {"enable_progress_bar": True, "callbacks": [bar]}
    assert progress_settings(settings, True) == settings
    mine = PlainProgress(every_seconds=5)
    chosen = progress_settings({"enable_progress_bar": True, "callbacks": [mine]}, True)
    assert chosen["callbacks"] == [mine] and not chosen["enable_progress_bar"]


# -- long loops -----------------------------------------------------------------------------
def test_the_reporter_waits_then_prints_timed_lines_with_an_eta(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    log = io.StringIO()
    with progress_report(100, what="decoding", stream=log) as report:
        for seconds in (5, 11, 20, 42, 50):  # 20 samples at each of these times
            clock.now = 1000.0 + seconds
            report.advance(20)
    assert log.getvalue().splitlines() == [
        # nothing before 10 s; then at most one line per 30 s; then the end
        "vamoh: decoding: 40/100 samples (40%) | 11s elapsed | eta 16s",
        "vamoh: decoding: 80/100 samples (80%) | 42s elapsed | eta 10s",
        "vamoh: decoding: done: 100/100 samples in 50s",
    ]


def test_quick_disabled_or_quieted_reports_print_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    with progress_report(10, stream=log) as report:  # done well within the 10 s delay
        report.advance(10)
    with progress_report(10, delay=0, every=0, enabled=False, stream=log) as report:
        report.advance(10)
    with quiet(), progress_report(10, delay=0, every=0, stream=log) as report:
        report.advance(10)
    assert log.getvalue() == ""


def test_nested_reports_move_the_outer_one(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock()
    monkeypatch.setattr(progress.time, "monotonic", clock)
    log = io.StringIO()
    with progress_report(32, what="writing", delay=0, every=0, stream=log) as outer:
        for _ in range(2):  # two blocks of 16 samples, each predicted in batches of 8
            with progress_report(16, what="decoding", stream=log) as inner:
                for _ in range(2):
                    clock.now += 1
                    inner.advance(8)
            outer.advance(16)
    assert [line.split(" | ")[0] for line in log.getvalue().splitlines()] == [
        "vamoh: writing: 8/32 samples (25%)",
        "vamoh: writing: 16/32 samples (50%)",
        "vamoh: writing: 16/32 samples (50%)",
        "vamoh: writing: 24/32 samples (75%)",
        "vamoh: writing: 32/32 samples (100%)",
        "vamoh: writing: 32/32 samples (100%)",
        "vamoh: writing: done: 32/32 samples in 4s",
    ]


def test_a_failure_says_where_it_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    with pytest.raises(RuntimeError), progress_report(8, delay=0, every=60, stream=log) as report:
        report.advance(3)
        raise RuntimeError("disk full")
    assert log.getvalue().splitlines()[-1].startswith("vamoh: predicting: stopped at 3/8 samples")


def test_a_terminal_gets_a_bar_only_when_the_work_is_long() -> None:
    screen = Terminal()
    with progress_report(4, stream=screen) as report:  # quick: tqdm's delay keeps it silent
        report.advance(4)
    assert screen.getvalue() == ""
    with progress_report(4, what="decoding", delay=0, stream=screen) as report:
        report.advance(4)
    assert "decoding: 100%" in screen.getvalue() and "4/4" in screen.getvalue()
