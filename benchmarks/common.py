"""Small helpers shared by every benchmark module: threads, timing, memory, data, figures, tables.

Example:
    >>> from benchmarks.common import table
    >>> table("Speed", ["setting", "seconds"], [["a", 1.5]])["columns"]
    ['setting', 'seconds']
"""

from __future__ import annotations

import datetime
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

THREADS_VARIABLE = "VAMOH_BENCH_THREADS"
QUICK_VARIABLE = "VAMOH_BENCH_QUICK"
SEED = 0
FULL_RUN_THREADS = 2
QUICK_RUN_THREADS = 1
REPO_ROOT = Path(__file__).resolve().parents[1]


class BenchmarkError(ValueError):
    """A benchmark was called or configured wrongly; the message names the problem and the fix.

    Example:
        >>> issubclass(BenchmarkError, ValueError)
        True
    """


def is_quick() -> bool:
    """Whether the runner started a ``--quick`` run (it sets ``VAMOH_BENCH_QUICK=1``).

    Example:
        >>> isinstance(is_quick(), bool)
        True
    """
    return os.environ.get(QUICK_VARIABLE, "") == "1"


def threads(quick: bool | None = None) -> int:
    """Torch thread count for this benchmark, applied with ``torch.set_num_threads``.

    ``VAMOH_BENCH_THREADS`` wins; otherwise 1 thread in quick runs and 2 in full runs (the
    issues' reference numbers are for 2 CPU cores). ``quick=None`` asks the runner's flag.

    Example:
        >>> import os
        >>> os.environ["VAMOH_BENCH_THREADS"] = "1"
        >>> threads()
        1
        >>> del os.environ["VAMOH_BENCH_THREADS"]
    """
    import torch

    if quick is None:
        quick = is_quick()
    raw = os.environ.get(THREADS_VARIABLE, "").strip()
    if raw:
        try:
            count = int(raw)
        except ValueError:
            count = 0
        if count < 1:
            raise BenchmarkError(
                f"{THREADS_VARIABLE}={raw!r} is not a positive whole number; "
                f"set it to e.g. 2 or unset it"
            )
    else:
        count = QUICK_RUN_THREADS if quick else FULL_RUN_THREADS
    torch.set_num_threads(count)
    return count


class Timer:
    """Wall-clock stopwatch handed out by :func:`timer`: ``seconds`` while running and after.

    Example:
        >>> with timer() as elapsed:
        ...     pass
        >>> elapsed.seconds >= 0.0 and float(elapsed) == elapsed() == elapsed.seconds
        True
    """

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self._stop: float | None = None

    @property
    def seconds(self) -> float:
        """Elapsed seconds: frozen once the ``with`` block ends, live inside it."""
        end = self._stop if self._stop is not None else time.perf_counter()
        return end - self._start

    @property
    def elapsed(self) -> float:
        """Same as :attr:`seconds`."""
        return self.seconds

    def stop(self) -> float:
        """Freeze the clock and return the elapsed seconds."""
        if self._stop is None:
            self._stop = time.perf_counter()
        return self.seconds

    def __call__(self) -> float:
        return self.seconds

    def __float__(self) -> float:
        return self.seconds

    def __repr__(self) -> str:
        return f"Timer(seconds={self.seconds:.6f})"


@contextmanager
def timer() -> Iterator[Timer]:
    """Time a block: ``with timer() as t: ...`` then ``t.seconds`` (or ``float(t)``, ``t()``).

    Example:
        >>> with timer() as t:
        ...     total = sum(range(1000))
        >>> t.seconds > 0.0
        True
    """
    clock = Timer()
    try:
        yield clock
    finally:
        clock.stop()


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB: since the last :func:`reset_peak_rss`, or
    since the process started.

    Linux's ``VmHWM`` is used where present (it can be reset); elsewhere ``getrusage``'s
    high-water mark, which never goes down: then measure one configuration per fresh process
    (:func:`in_fresh_process`).

    Example:
        >>> peak_rss_mb() > 0.0
        True
    """
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def reset_peak_rss() -> bool:
    """Reset the peak-memory mark to the current resident size (Linux); False where unsupported.

    Memory that the allocator kept from earlier work is reused without raising the mark, so a
    fresh process (:func:`in_fresh_process`) is still the honest way to compare configurations.

    Example:
        >>> isinstance(reset_peak_rss(), bool)
        True
    """
    clear_refs = Path("/proc/self/clear_refs")
    try:
        clear_refs.write_text("5")
    except OSError:
        return False
    return True


def current_rss_mb() -> float:
    """Resident memory of this process now, in MiB (``/proc/self/statm``; peak where absent).

    Example:
        >>> current_rss_mb() > 0.0
        True
    """
    statm = Path("/proc/self/statm")
    if statm.is_file():
        resident_pages = int(statm.read_text().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") / (1024.0 * 1024.0)
    return peak_rss_mb()


def shared_data() -> Path | None:
    """``../shared/data`` beside the repository (or ``VAMOH_SHARED_DATA``), None when absent.

    Example:
        >>> found = shared_data()
        >>> found is None or found.is_dir()
        True
    """
    override = os.environ.get("VAMOH_SHARED_DATA")
    candidate = Path(override) if override else REPO_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def figure_path(out_dir: Path, name: str) -> Path:
    """Where a benchmark writes figure ``name`` (``.png`` added if missing): ``out_dir/figures``.

    The folder is created. Put ``path.relative_to(out_dir)`` in the result's ``figures`` list.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> out = Path(tempfile.mkdtemp())
        >>> figure_path(out, "step_time").relative_to(out).as_posix()
        'figures/step_time.png'
    """
    if not name or Path(name).name != name:
        raise BenchmarkError(
            f"figure name {name!r} must be a plain file name such as 'step_time.png' (no folders)"
        )
    folder = Path(out_dir) / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    return path if path.suffix else path.with_suffix(".png")


def table(
    title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], notes: str = ""
) -> dict[str, Any]:
    """One result table in the contract's shape; every row must have one cell per column.

    Example:
        >>> table("t", ["a", "b"], [[1, "x"]], notes="quoted reference: 4.1 s")["rows"]
        [[1, 'x']]
    """
    column_list = [str(column) for column in columns]
    if not column_list:
        raise BenchmarkError(f"table {title!r} has no columns; pass at least one column name")
    row_list: list[list[Any]] = []
    for index, row in enumerate(rows):
        cells = list(row)
        if len(cells) != len(column_list):
            raise BenchmarkError(
                f"table {title!r}: row {index} has {len(cells)} cells but there are "
                f"{len(column_list)} columns {column_list}; give every row one cell per column"
            )
        row_list.append(cells)
    return {"title": str(title), "columns": column_list, "rows": row_list, "notes": str(notes)}


RESULT_MARKER = "VAMOH-BENCHMARK-RESULT "


def in_fresh_process(target: str, timeout: float = 1800.0, **kwargs: Any) -> dict[str, Any]:
    """Call ``target`` (``"package.module:function"``) with JSON-able ``kwargs`` in a new Python
    process and return the dict it returns: peak memory measured there is that call's alone.

    The child inherits the environment (so ``VAMOH_BENCH_THREADS``) and runs from the repository
    root. A failure in the child raises :class:`BenchmarkError` with the child's last output.

    Example:
        >>> in_fresh_process("platform:uname")["system"] == __import__("platform").system()
        True
    """
    module, _, function = target.partition(":")
    if not module or not function:
        raise BenchmarkError(f"target {target!r} must look like 'package.module:function'")
    code = (
        "import json, sys\n"
        f"from {module} import {function} as target\n"
        "result = target(**json.loads(sys.argv[1]))\n"
        "result = result._asdict() if hasattr(result, '_asdict') else dict(result)\n"
        f"print({RESULT_MARKER!r} + json.dumps(result, default=str), flush=True)\n"
    )
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(REPO_ROOT), environment.get("PYTHONPATH", "")) if part
    )
    completed = subprocess.run(
        [sys.executable, "-c", code, json.dumps(kwargs)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    for line in reversed(completed.stdout.splitlines()):
        if line.startswith(RESULT_MARKER):
            return json.loads(line[len(RESULT_MARKER) :])
    tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
    raise BenchmarkError(
        f"{target}({kwargs}) failed in a fresh process (exit status {completed.returncode}):\n"
        f"{tail}"
    )


def seed_everything(seed: int = SEED) -> int:
    """Seed Python, NumPy and torch RNGs so a benchmark run is repeatable; returns the seed.

    Example:
        >>> seed_everything(3)
        3
    """
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - seeds legacy global-RNG users too
    torch.manual_seed(seed)
    return seed


@dataclass(frozen=True)
class Budget:
    """How a benchmark trains vamoh: an epoch cap, a wall-clock cap and config overrides.

    Both caps hold, so a full run keeps to its time on a slower machine; the result tables
    report the epochs reached.

    Example:
        >>> Budget(max_epochs=2, max_minutes=0.5).trainer()["max_time"]
        datetime.timedelta(seconds=30)
    """

    max_epochs: int
    max_minutes: float
    config: dict[str, Any] = field(default_factory=dict)

    def trainer(self) -> dict[str, Any]:
        """Keyword arguments for ``lightning.Trainer`` (the wall-clock cap)."""
        return {"max_time": datetime.timedelta(minutes=self.max_minutes)}


@dataclass(frozen=True)
class TrainedModel:
    """A fitted vamoh model and what its training cost.

    Example:
        >>> TrainedModel(model=None, seconds=1.5, epochs=2).epochs
        2
    """

    model: Any
    seconds: float
    epochs: int


def training_table(
    data: str,
    n_train: int,
    n_test: int,
    trained: TrainedModel,
    scoring_seconds: float,
    n_threads: int,
    config: str,
) -> dict[str, Any]:
    """The "Training" table of a quality benchmark: sizes, epochs, minutes, threads, config.

    Example:
        >>> t = training_table("d", 8, 2, TrainedModel(None, 60.0, 3), 30.0, 1, "K=3")
        >>> t["rows"][0][:6]
        ['d', 8, 2, 3, 1.0, 0.5]
    """
    columns = ["data", "train", "test", "epochs", "training minutes", "scoring minutes"]
    row = [data, n_train, n_test, trained.epochs, trained.seconds / 60.0, scoring_seconds / 60.0]
    return table("Training", [*columns, "threads", "config"], [[*row, n_threads, config]])


def quiet_lightning() -> None:
    """Silence Lightning's info lines and the warnings a short CPU run triggers.

    Example:
        >>> quiet_lightning()
    """
    import logging
    import warnings

    for name in ("lightning", "lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    warnings.filterwarnings("ignore", message=".*max_time.*")


def train_within_budget(
    data: Any,
    budget: Budget,
    overrides: dict[str, Any] | None = None,
    *,
    base: dict[str, Any] | None = None,
) -> TrainedModel:
    """``vamoh.fit`` on ``data`` under ``budget``: config ``base`` < budget's < ``overrides``.

    The benchmark scores the model itself, so fit's validation report is off.

    Example:
        >>> import numpy as np
        >>> from vamoh_images import from_array
        >>> images = from_array(np.random.default_rng(0).integers(0, 255, (6, 8, 8), np.uint8))
        >>> trained = train_within_budget(images, Budget(1, 1.0), {"batch_size": 4})
        >>> trained.epochs, trained.model.modality.name
        (1, 'images')
    """
    import warnings

    import vamoh

    quiet_lightning()
    config = {**(base or {}), **budget.config, **(overrides or {})}
    with timer() as elapsed, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = vamoh.fit(
            data,
            config=config,
            max_epochs=budget.max_epochs,
            progress=False,
            report=False,
            trainer=budget.trainer(),
        )
    epochs = int(model.info.get("epochs", budget.max_epochs))
    # Lightning counts the epoch it stopped in; a run that reached max_epochs reports that number
    return TrainedModel(model, elapsed.seconds, min(max(epochs, 1), budget.max_epochs))
