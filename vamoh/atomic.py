"""Outputs appear whole or not at all: write beside the final name, then rename into place.

A write that is killed half-way (SIGKILL, a full disk, an exception in the writer) leaves at
most a hidden ``.NAME.partial-PID-XXXX.SUFFIX`` beside the requested name, never a half-written file or
store under it. The next write to the same name removes such leftovers of processes that no
longer run. Every vamoh writer (models, results, demo outputs) and the first-party plugins' writers
go through :func:`atomic_output`; third-party plugins should too.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> with atomic_output(folder / "scores.json") as partial:
    ...     _ = partial.write_text("{}")
    >>> sorted(p.name for p in folder.iterdir())
    ['scores.json']
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["OutputExistsError", "atomic_output", "check_new_output", "write_text"]

_PARTIAL = ".partial-"


class OutputExistsError(FileExistsError):
    """The output path exists and the caller did not ask to replace it.

    Example:
        >>> issubclass(OutputExistsError, FileExistsError)
        True
    """


def check_new_output(path: str | Path, overwrite: bool = False, *, hint: str = "") -> Path:
    """``path`` as a ``Path``; :class:`OutputExistsError` when it exists and ``overwrite`` is false.

    Call it before long work (training, a prediction) so a taken name fails at once, not after.
    ``hint`` names how the caller's user asks for a replacement (default: ``overwrite=True``).

    Example:
        >>> import tempfile
        >>> taken = tempfile.mkdtemp()
        >>> try:
        ...     check_new_output(taken)
        ... except OutputExistsError as error:
        ...     print(str(error).split("; ")[1])
        pass overwrite=True to replace it, or choose another path (vamoh replaces nothing unless asked).
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise OutputExistsError(
            f"{target} already exists; pass {hint or 'overwrite=True'} to replace it, or choose "
            f"another path (vamoh replaces nothing unless asked)."
        )
    return target


@contextlib.contextmanager
def atomic_output(path: str | Path, *, overwrite: bool = False, hint: str = "") -> Iterator[Path]:
    """A temporary path in ``path``'s folder to write to; moved onto ``path`` when the block ends.

    The writer in the ``with`` block may create a file or a folder (a Zarr store) at the yielded
    path. When the block finishes, it replaces ``path`` in one rename (a folder that is replaced
    is first moved aside, then deleted); when the block raises, the partial output is deleted and
    ``path`` is untouched. The parent folder is created if needed.

    Raises:
        OutputExistsError: ``path`` exists and ``overwrite`` is false (before anything is
            written).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> target = Path(tempfile.mkdtemp()) / "model.bin"
        >>> try:
        ...     with atomic_output(target) as partial:
        ...         _ = partial.write_bytes(b"half a mod")
        ...         raise OSError("disk full")
        ... except OSError:
        ...     pass
        >>> target.exists(), list(target.parent.iterdir())
        (False, [])
    """
    target = check_new_output(path, overwrite, hint=hint)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(target)
    # the suffix stays last, for writers that choose the format by it (matplotlib)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    partial = target.with_name(f".{target.name}{_PARTIAL}{token}{target.suffix}")
    try:
        yield partial
        if not partial.exists():
            raise FileNotFoundError(
                f"the writer for {target} wrote nothing to the temporary path {partial}."
            )
        _move_into_place(partial, target, overwrite)
    except BaseException:
        _remove(partial)
        raise


def write_text(path: str | Path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` atomically (:func:`atomic_output`); returns the path.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> path = write_text(Path(tempfile.mkdtemp()) / "a.txt", "hello")
        >>> path.read_text()
        'hello'
    """
    target = Path(path)
    with atomic_output(target, overwrite=overwrite) as partial:
        partial.write_text(text)
    return target


def _move_into_place(partial: Path, target: Path, overwrite: bool) -> None:
    if partial.is_dir() and target.exists():
        # a folder cannot replace another in one rename: move the old one aside first, so the
        # name never holds a mixture of the two
        aside = target.with_name(f".{target.name}.replaced-{os.getpid()}-{secrets.token_hex(4)}")
        target.rename(aside)
        partial.rename(target)
        _remove(aside)
        return
    if target.is_dir() and overwrite:
        _remove(target)
    if not overwrite and target.exists():  # appeared while we were writing
        raise OutputExistsError(f"{target} was created by someone else while vamoh wrote it.")
    os.replace(partial, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _remove_stale_partials(target: Path) -> None:
    """Delete ``.NAME.partial-PID-*`` left by writers that were killed (their PID is gone)."""
    prefix = f".{target.name}{_PARTIAL}"
    with contextlib.suppress(OSError):
        for leftover in target.parent.glob(f"{glob.escape(prefix)}*"):
            pid_text = leftover.name[len(prefix) :].split("-", 1)[0]
            if pid_text.isdigit() and not _running(int(pid_text)):
                _remove(leftover)


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True
