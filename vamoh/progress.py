"""Progress of long loops (decoding many samples, writing a store) that any log can show.

A terminal gets a tqdm bar; anything else (a batch job's log, ``nohup``, a CI log, a pipe, a
notebook, where bars draw badly) gets plain, flushed lines with the count done, the elapsed time
and an estimate of the time left. Quick work prints nothing: the first line comes only after
``delay`` seconds (10), then one every ``every`` seconds (30), and a last line when it ends.

Reports nest: a report opened while another one is running (a model's batch loop inside a
store writer's block loop) prints nothing itself and moves the outer report forward instead,
in the same unit, so the user sees one display whose count moves with every batch.
:func:`quiet` silences every report opened inside it (the CLI's ``--quiet``).

Training progress (a Lightning callback) lives in :mod:`vamoh.training_progress`.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

__all__ = [
    "ProgressReport",
    "format_duration",
    "in_notebook",
    "plain_lines_wanted",
    "progress_report",
    "quiet",
    "still_working",
]

DELAY_SECONDS = 10.0  # quicker work prints nothing
EVERY_SECONDS = 30.0  # then a line at least this often (when the loop advances)

_current: contextvars.ContextVar[ProgressReport | None] = contextvars.ContextVar(
    "vamoh_progress_report", default=None
)


def format_duration(seconds: float) -> str:
    """A short human duration: ``42s``, ``3m05s``, ``2h07m``.

    Example:
        >>> format_duration(4.2), format_duration(185), format_duration(7620), format_duration(-1)
        ('4s', '3m05s', '2h07m', '0s')
    """
    total = max(0, round(seconds))
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def in_notebook() -> bool:
    """Whether this runs in a Jupyter (or Colab) kernel, where progress bars draw unreliably.

    Example:
        >>> in_notebook()  # a doctest runs in a plain interpreter
        False
    """
    if "google.colab" in sys.modules:
        return True
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]
    return type(shell).__name__ == "ZMQInteractiveShell"


def plain_lines_wanted(stream: TextIO | None = None) -> bool:
    """True unless ``stream`` (default: standard output) is a terminal outside a notebook.

    Example:
        >>> import io
        >>> plain_lines_wanted(io.StringIO())  # a file, a pipe, a captured stream
        True
    """
    stream = sys.stdout if stream is None else stream
    try:
        terminal = bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        terminal = False
    return not terminal or in_notebook()


class ProgressReport:
    """Counts work done (samples, blocks, ...) and shows it; made by :func:`progress_report`.

    Call :meth:`advance` as work completes. A report nested inside another forwards its counts
    to that one and prints nothing.
    """

    def __init__(
        self,
        total: int | None,
        *,
        what: str = "predicting",
        unit: str = "samples",
        enabled: bool = True,
        delay: float | None = None,
        every: float | None = None,
        stream: TextIO | None = None,
        parent: ProgressReport | None = None,
    ) -> None:
        self.total = total
        self.what = what
        self.unit = unit
        self.enabled = enabled and parent is None
        self.delay = DELAY_SECONDS if delay is None else delay
        self.every = EVERY_SECONDS if every is None else every
        self.stream = stream
        self.parent = parent
        self.done = 0  # counted by this report's own advance()
        self._from_children = 0  # counted by nested reports since this report last advanced
        self._start = time.monotonic()
        self._last_line: float | None = None
        self._bar: Any = None
        out = sys.stdout if stream is None else stream
        if self.enabled and not plain_lines_wanted(out):
            from tqdm.auto import tqdm

            # the bar's own delay keeps quick work silent, as the plain lines do
            self._bar = tqdm(total=total, desc=what, unit=f" {unit}", delay=self.delay, file=out)

    @property
    def count(self) -> int:
        """Work done so far, including what nested reports counted since the last advance."""
        shown = self.done + self._from_children
        return min(shown, self.total) if self.total is not None else shown

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units done (in a nested report: move the outer report forward)."""
        if self.parent is not None:
            self.parent._child_advanced(n)
        self.done += n
        self._from_children = 0
        self._show()

    def _child_advanced(self, n: int) -> None:
        self._from_children += n
        if self.parent is not None:
            self.parent._child_advanced(n)
        self._show()

    def _show(self) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self.count - self._bar.n)
            return
        now = time.monotonic()
        if now - self._start < self.delay:
            return
        if self._last_line is None or now - self._last_line >= self.every:
            self._print(self._line(now))
            self._last_line = now

    def _line(self, now: float) -> str:
        elapsed = now - self._start
        count = self.count
        if self.total is None:
            return f"vamoh: {self.what}: {count} {self.unit} | {format_duration(elapsed)} elapsed"
        share = f" ({100 * count / self.total:.0f}%)" if self.total else ""
        eta = "eta ?"
        if count:
            eta = f"eta {format_duration(elapsed / count * (self.total - count))}"
        return (
            f"vamoh: {self.what}: {count}/{self.total} {self.unit}{share} | "
            f"{format_duration(elapsed)} elapsed | {eta}"
        )

    def _print(self, line: str) -> None:
        print(line, file=sys.stdout if self.stream is None else self.stream, flush=True)

    def close(self, failed: bool = False) -> None:
        """End the display: a last line when anything was shown or the work took long."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            return
        elapsed = time.monotonic() - self._start
        if self._last_line is None and elapsed < self.delay:
            return
        total = f"/{self.total}" if self.total is not None else ""
        outcome = "stopped at" if failed else "done:"
        self._print(
            f"vamoh: {self.what}: {outcome} {self.count}{total} {self.unit} "
            f"in {format_duration(elapsed)}"
        )


@contextmanager
def progress_report(
    total: int | None,
    *,
    what: str = "predicting",
    unit: str = "samples",
    enabled: bool = True,
    delay: float | None = None,
    every: float | None = None,
    stream: TextIO | None = None,
) -> Iterator[ProgressReport]:
    """Show the progress of a loop over ``total`` units; ``report.advance(n)`` as they finish.

    Nothing is shown when ``enabled`` is false, inside :func:`quiet`, or when the loop ends
    within ``delay`` seconds. Inside another report this one forwards its counts to it.

    Args:
        total: units to do (``None`` when unknown: no percentage, no ETA).
        what: what is being done, e.g. ``"decoding"``; starts each line.
        unit: what is counted, e.g. ``"samples"``.
        enabled: ``False`` shows nothing here and in every report opened inside.
        delay: seconds before the first line (quicker work stays silent); default
            ``DELAY_SECONDS`` (10).
        every: seconds between lines; default ``EVERY_SECONDS`` (30).
        stream: where lines go (default: standard output at the time of each line).

    Example:
        >>> import io
        >>> log = io.StringIO()
        >>> with progress_report(4, what="decoding", delay=0, every=0, stream=log) as report:
        ...     for _ in range(2):
        ...         report.advance(2)
        >>> print(log.getvalue().replace("0s", "Ns"), end="")
        vamoh: decoding: 2/4 samples (50%) | Ns elapsed | eta Ns
        vamoh: decoding: 4/4 samples (100%) | Ns elapsed | eta Ns
        vamoh: decoding: done: 4/4 samples in Ns
    """
    report = ProgressReport(
        total,
        what=what,
        unit=unit,
        enabled=enabled,
        delay=delay,
        every=every,
        stream=stream,
        parent=_current.get(),
    )
    token = _current.set(report)
    failed = True
    try:
        yield report
        failed = False
    finally:
        _current.reset(token)
        report.close(failed=failed)


@contextmanager
def quiet(enabled: bool = True) -> Iterator[None]:
    """Silence every progress report opened inside the block (``enabled=False``: no effect).

    Example:
        >>> import io
        >>> log = io.StringIO()
        >>> with quiet(), progress_report(2, delay=0, every=0, stream=log) as report:
        ...     report.advance(2)
        >>> log.getvalue()
        ''
    """
    if not enabled:
        yield
        return
    silent = ProgressReport(None, enabled=False)
    token = _current.set(silent)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def still_working(
    what: str,
    *,
    enabled: bool = True,
    every: float | None = None,
    stream: TextIO | None = None,
) -> Iterator[None]:
    """A line every ``every`` seconds (default ``EVERY_SECONDS``) while a step with no count of
    its own runs (fitting the backbone, scoring the report), so a log never goes silent.

    Nothing is printed when the step ends sooner, when ``enabled`` is false or inside
    :func:`quiet`. Lines go to ``stream`` (default: standard output when the step starts).

    Example:
        >>> import io, time
        >>> log = io.StringIO()
        >>> with still_working("vamoh fit: backbone", every=0.05, stream=log):
        ...     time.sleep(0.12)
        >>> log.getvalue().splitlines()[0].startswith("vamoh fit: backbone: still working, ")
        True
    """
    current = _current.get()
    if not enabled or (current is not None and not current.enabled):
        yield
        return
    out = stream if stream is not None else sys.stdout
    interval = EVERY_SECONDS if every is None else every
    started = time.perf_counter()
    done = threading.Event()

    def beat() -> None:
        while not done.wait(interval):
            elapsed = format_duration(time.perf_counter() - started)
            print(f"{what}: still working, {elapsed} elapsed", file=out, flush=True)

    thread = threading.Thread(target=beat, name="vamoh-still-working", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
