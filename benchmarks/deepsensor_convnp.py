"""DeepSensor's ConvNP on the climate gap-filling tasks, in its own virtual environment (issue #8).

DeepSensor (PyPI ``deepsensor``, torch backend) and its dependencies stay out of vamoh's
environment: the first full run makes ``benchmarks/.venv-deepsensor`` (git-ignored) and installs
``benchmarks/deepsensor/requirements.txt`` there with ``-c constraints-cpu.txt``, which pins the
CPU torch wheel; later runs reuse it. The main process writes each data set's training fields,
test fields and masks to an ``.npz`` (the same splits and masks as ``climate_quality``), the
script ``benchmarks/deepsensor/convnp_gapfill.py`` trains and predicts inside that environment,
and the main process scores its predictions with the same code as every other method.

Budget: the same wall-clock cap as vamoh's in ``climate_quality`` (``VAMOH_BUDGET.max_minutes``
per data set) on the same number of threads. The ConvNP trains on 50 % random hidden points
(fresh masks every epoch) and is scored on the 50 % random task and, trained as it is, on the
central block.

Quick runs only check the data export (no install, no training): seconds.

Example:
    >>> from benchmarks import climate_quality as quality
    >>> split = quality.synthetic_split(n_train=3, n_test=1, grid=(4, 8))
    >>> import tempfile, os
    >>> path = export_inputs(split, quality.gap_tasks(split.test),
    ...                      os.path.join(tempfile.mkdtemp(), "in.npz"), budget_seconds=1.0)
    >>> sorted(load_script().read_inputs(path).masks)
    ['central block', 'random 50%']
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks import climate_quality as quality
from benchmarks.common import REPO_ROOT, SEED, table, threads, timer

NAME = "deepsensor_convnp"

FOLDER = Path(__file__).resolve().parent / "deepsensor"
SCRIPT = FOLDER / "convnp_gapfill.py"
REQUIREMENTS = FOLDER / "requirements.txt"
CONSTRAINTS = REPO_ROOT / "constraints-cpu.txt"
VENV = REPO_ROOT / "benchmarks" / ".venv-deepsensor"
READY_MARKER = ".vamoh-deepsensor-ready"
INSTALL_TIMEOUT_S = 1800.0
TRAIN_FRACTION = 0.5
BATCH_SIZE = 1  # DeepSensor's default: one task per optimiser step
LEARNING_RATE = 5e-5  # deepsensor.train.train_epoch's default
MAX_EPOCHS = 1000  # the wall-clock budget stops training first


# -- data export --------------------------------------------------------------------------------
def export_inputs(
    split: quality.ClimateSplit,
    masks: dict[str, np.ndarray],
    path: str | Path,
    *,
    budget_seconds: float,
    max_epochs: int = MAX_EPOCHS,
    batch_size: int = BATCH_SIZE,
    lr: float = LEARNING_RATE,
    train_fraction: float = TRAIN_FRACTION,
) -> Path:
    """Write what the ConvNP script needs to ``path`` (``.npz``): fields, masks, budget, seed.

    Example:
        >>> split = quality.synthetic_split(n_train=2, n_test=1, grid=(4, 8))
        >>> import tempfile, os, numpy as np
        >>> path = export_inputs(split, {"a": np.ones((1, 4, 8), bool)},
        ...                      os.path.join(tempfile.mkdtemp(), "x.npz"), budget_seconds=2.0)
        >>> sorted(np.load(path))[:4]
        ['batch_size', 'budget_seconds', 'lat', 'lon']
    """
    test = split.test
    lat_dim, lon_dim = test.dims[-2:]
    for name, mask in masks.items():
        if mask.shape != test.shape:
            raise ValueError(f"mask {name!r} is {mask.shape} but the test fields are {test.shape}.")
    arrays: dict[str, Any] = {
        "name": np.array(split.variable),
        "units": np.array(str(test.attrs.get("units", ""))),
        "lat": np.asarray(test[lat_dim].values, dtype=np.float64),
        "lon": np.asarray(test[lon_dim].values, dtype=np.float64),
        "train": np.asarray(split.train.transpose("time", lat_dim, lon_dim).values, np.float32),
        "train_times": np.asarray(split.train.time.values).astype("datetime64[ns]"),
        "test": np.asarray(test.transpose("time", lat_dim, lon_dim).values, np.float32),
        "test_times": np.asarray(test.time.values).astype("datetime64[ns]"),
        "task_names": np.array(list(masks)),
        "train_fraction": np.array(train_fraction),
        "seed": np.array(SEED),
        "budget_seconds": np.array(float(budget_seconds)),
        "max_epochs": np.array(int(max_epochs)),
        "batch_size": np.array(int(batch_size)),
        "lr": np.array(float(lr)),
    }
    for index, mask in enumerate(masks.values()):
        arrays[f"mask_{index}"] = np.asarray(mask, dtype=bool)
    path = Path(path)
    np.savez(path, **arrays)
    return path


@functools.cache
def load_script() -> ModuleType:
    """The ConvNP script as a module (its readers need only numpy; DeepSensor is imported late).

    Example:
        >>> load_script().TASK_PREFIX
        'mask_'
    """
    spec = importlib.util.spec_from_file_location("convnp_gapfill", SCRIPT)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"cannot load {SCRIPT}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["convnp_gapfill"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def check_export(split: quality.ClimateSplit, masks: dict[str, np.ndarray], path: Path) -> str:
    """Read ``path`` back with the script's own reader and compare with what was exported.

    Returns a one-line summary; raises ``ValueError`` when anything differs.

    Example:
        >>> split = quality.synthetic_split(n_train=2, n_test=1, grid=(4, 8))
        >>> import tempfile, os
        >>> masks = quality.gap_tasks(split.test)
        >>> path = export_inputs(split, masks, os.path.join(tempfile.mkdtemp(), "x.npz"),
        ...                      budget_seconds=1.0)
        >>> check_export(split, masks, path)
        'train (2, 4, 8), test (1, 4, 8), masks random 50% (12 hidden), central block (8 hidden)'
    """
    inputs = load_script().read_inputs(path)
    if not np.array_equal(inputs.test, split.test.values.astype(np.float32)):
        raise ValueError("the exported test fields differ from the split's.")
    if not np.array_equal(inputs.train, split.train.values.astype(np.float32)):
        raise ValueError("the exported training fields differ from the split's.")
    if list(inputs.masks) != list(masks) or not all(
        np.array_equal(inputs.masks[k], masks[k]) for k in masks
    ):
        raise ValueError("the exported masks differ from the ones scored here.")
    listed = ", ".join(f"{k} ({int(v.sum())} hidden)" for k, v in inputs.masks.items())
    return f"train {inputs.train.shape}, test {inputs.test.shape}, masks {listed}"


# -- the environment ------------------------------------------------------------------------------
@dataclass
class Environment:
    """DeepSensor's virtual environment: its python, or why there is none.

    Example:
        >>> Environment(None, 0.0, False, "pip exit 1").ok
        False
    """

    python: Path | None
    seconds: float
    cached: bool
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.python is not None and self.error is None


def _fingerprint() -> str:
    text = REQUIREMENTS.read_text() + (CONSTRAINTS.read_text() if CONSTRAINTS.is_file() else "")
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _tail(text: str, lines: int = 6) -> str:
    """The error lines of a tool's output (pip's start with ERROR), else its last lines."""
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in kept if line.startswith(("ERROR", "Error", "Traceback"))]
    return " / ".join((errors or kept)[-lines:])


def ensure_environment(venv: Path = VENV, timeout: float = INSTALL_TIMEOUT_S) -> Environment:
    """Make (once) and return DeepSensor's venv; a failed install is reported, never raised.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> folder = Path(tempfile.mkdtemp()) / "venv"
        >>> _ = (folder / "bin").mkdir(parents=True)
        >>> _ = (folder / READY_MARKER).write_text(_fingerprint())
        >>> _ = Path(_venv_python(folder)).write_text("")
        >>> ensure_environment(folder).cached
        True
    """
    python = _venv_python(venv)
    marker = venv / READY_MARKER
    if marker.is_file() and marker.read_text().strip() == _fingerprint() and python.exists():
        return Environment(python, 0.0, True)
    with timer() as elapsed:
        steps = [
            [sys.executable, "-m", "venv", "--clear", "--without-pip", str(venv)],
            [str(python), "-m", "ensurepip", "--upgrade", "--default-pip"],
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-c",
                str(CONSTRAINTS),
                "-r",
                str(REQUIREMENTS),
            ],
        ]
        for command in steps:
            try:
                done = subprocess.run(
                    command,
                    cwd=REPO_ROOT,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    env=_clean_environment(),
                )
            except subprocess.TimeoutExpired:
                return Environment(
                    None,
                    elapsed.seconds,
                    False,
                    f"timed out after {timeout:.0f} s: {' '.join(command[:4])}",
                )
            if done.returncode != 0:
                what = " ".join(Path(part).name for part in command[:4])
                return Environment(
                    None,
                    elapsed.seconds,
                    False,
                    f"{what} exit {done.returncode}: {_tail(done.stdout + done.stderr)}",
                )
            # git ignores the environment even where the repository's .gitignore does not name it
            (venv / ".gitignore").write_text("# made by benchmarks/deepsensor_convnp.py\n*\n")
    marker.write_text(_fingerprint())
    return Environment(python, elapsed.seconds, False)


def _clean_environment() -> dict[str, str]:
    """The environment without vamoh's venv and path settings, so the child sees its own."""
    environment = dict(os.environ)
    for key in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"):
        environment.pop(key, None)
    return environment


# -- training and scoring ------------------------------------------------------------------------
@dataclass
class ConvNPRun:
    """The script's predictions per task and its info, or the error that stopped it.

    Example:
        >>> ConvNPRun({}, {}, "boom").error
        'boom'
    """

    predictions: dict[str, quality.Prediction]
    info: dict[str, Any]
    error: str | None = None


def run_convnp(
    environment: Environment,
    split: quality.ClimateSplit,
    masks: dict[str, np.ndarray],
    budget_seconds: float,
    n_threads: int,
    workdir: Path,
) -> ConvNPRun:
    """Export, train and predict in DeepSensor's venv; read the predictions back onto the grid."""
    inputs = export_inputs(
        split, masks, workdir / f"{split.key}_inputs.npz", budget_seconds=budget_seconds
    )
    output = workdir / f"{split.key}_convnp.npz"
    command = [str(environment.python), str(SCRIPT), str(inputs), str(output)]
    command += ["--threads", str(n_threads)]
    timeout = budget_seconds * 2.0 + 600.0  # training, plus setup and prediction
    try:
        done = subprocess.run(
            command,
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_clean_environment(),
        )
    except subprocess.TimeoutExpired:
        return ConvNPRun({}, {}, f"the ConvNP script ran past {timeout:.0f} s")
    if done.returncode != 0 or not output.is_file():
        return ConvNPRun(
            {}, {}, f"script exit {done.returncode}: {_tail(done.stderr or done.stdout)}"
        )
    with np.load(output, allow_pickle=False) as data:
        info = json.loads(str(data["info"]))
        predictions = {}
        for index in range(len(masks)):
            name = str(data[f"name_{index}"])
            mean = split.test.copy(data=data[f"mean_{index}"].astype(np.float64))
            std = split.test.copy(data=data[f"std_{index}"].astype(np.float64))
            predictions[name] = quality.Prediction(mean, std)
    return ConvNPRun(predictions, info)


def _quick(out_dir: Path, n_threads: int) -> dict[str, Any]:
    split = quality.synthetic_split(n_train=4, n_test=2, grid=(4, 8))
    masks = quality.gap_tasks(split.test)
    with tempfile.TemporaryDirectory() as folder:
        path = export_inputs(split, masks, Path(folder) / "inputs.npz", budget_seconds=1.0)
        summary = check_export(split, masks, path)
    rows = [[split.label, "data export read back by the script", summary]]
    return {
        "name": NAME,
        "title": "DeepSensor ConvNP gap-filling (own venv)",
        "description": "Quick run: checks that the inputs written for the ConvNP script read back "
        f"identically with the script's own reader; no install, no training ({n_threads} thread).",
        "tables": [table("ConvNP data export", ["data", "check", "result"], rows)],
        "figures": [],
    }


COLUMNS = [
    "data",
    "task",
    "method",
    "RMSE (K)",
    "CRPS (K)",
    "90% coverage",
    "epochs",
    "train wall (s)",
]
CONVNP = "DeepSensor ConvNP"


def not_run_row(label: str, reason: str) -> list[Any]:
    """A table row saying why ConvNP has no numbers for a data set.

    Example:
        >>> not_run_row("NCEP", "install failed")[:4]
        ['NCEP', 'random 50%', 'DeepSensor ConvNP', 'not run: install failed']
    """
    return [label, quality.RANDOM_TASK, CONVNP, f"not run: {reason}", "", "", "", ""]


def convnp_rows(
    split: quality.ClimateSplit, result: ConvNPRun, masks: dict[str, np.ndarray]
) -> list[list[Any]]:
    """One scored row per task of a successful ConvNP run.

    Example:
        >>> split = quality.synthetic_split(n_train=1, n_test=1, grid=(4, 8))
        >>> masks = quality.gap_tasks(split.test)
        >>> exact = quality.Prediction(split.test, split.test * 0 + 1.0)
        >>> result = ConvNPRun({k: exact for k in masks}, {"epochs": 1, "train_seconds": 2.0})
        >>> [row[2] for row in convnp_rows(split, result, masks)]
        ['DeepSensor ConvNP', 'DeepSensor ConvNP (trained on random masks)']
    """
    rows = []
    for task, prediction in result.predictions.items():
        scores = quality.score(split.test, prediction, masks[task])
        label = CONVNP if task == quality.RANDOM_TASK else f"{CONVNP} (trained on random masks)"
        rows.append(
            [
                split.label,
                task,
                label,
                scores["rmse"],
                scores["crps"],
                scores["coverage90"],
                result.info["epochs"],
                result.info["train_seconds"],
            ]
        )
    return rows


def baseline_rows(split: quality.ClimateSplit, masks: dict[str, np.ndarray]) -> list[list[Any]]:
    """Cubic griddata and cubic on anomalies on the same masks, for reference.

    Example:
        >>> split = quality.synthetic_split(n_train=2, n_test=1, grid=(4, 8))
        >>> [row[2] for row in baseline_rows(split, quality.gap_tasks(split.test))][:2]
        ['cubic griddata', 'cubic on anomalies']
    """
    rows = []
    for task, mask in masks.items():
        found = quality.gap_baselines(split, mask, with_kriging=False)
        for method in ("cubic griddata", "cubic on anomalies"):
            scores = quality.score(split.test, found[method], mask)
            rows.append(
                [split.label, task, method, scores["rmse"], scores["crps"], scores["coverage90"]]
                + ["", ""]
            )
    return rows


def run(quick: bool, out_dir: Path) -> dict[str, Any]:
    """Install (once) and run DeepSensor's ConvNP on ERA5 UK and NCEP gap-filling.

    ``python -m benchmarks run --only deepsensor_convnp`` runs it (``--quick`` checks the
    data export only).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> run(True, Path(tempfile.mkdtemp()))["tables"][0]["rows"][0][1]
        'data export read back by the script'
    """
    n_threads = threads(quick)
    if quick:
        return _quick(out_dir, n_threads)
    budget_seconds = quality.VAMOH_BUDGET.max_minutes * 60.0
    title = "Gap-filling: DeepSensor ConvNP against interpolation (same fields and masks)"
    description = (
        "DeepSensor ConvNP (deepsensor[torch], own venv, CPU torch) trained on the training "
        f"fields with {TRAIN_FRACTION:.0%} random points hidden (fresh masks each epoch, seed "
        f"{SEED}), at most {budget_seconds / 60:g} min wall time per data set (vamoh's cap in "
        f"climate_quality) on {n_threads} torch thread(s); DeepSensor's defaults for the model "
        f"and its training step (batch {BATCH_SIZE}, Adam lr {LEARNING_RATE:g}). "
    )
    splits = quality.load_splits(quick=False)
    if not splits:
        return {
            "name": NAME,
            "title": "DeepSensor ConvNP gap-filling (own venv)",
            "description": description + "Skipped: ../shared/data absent.",
            "tables": [quality.missing_data_table(title, COLUMNS)],
            "figures": [],
        }
    description += " | ".join(split.description for split in splits)
    environment = ensure_environment()
    if environment.ok:
        install = (
            "reused the cached environment"
            if environment.cached
            else f"installed in {environment.seconds:.0f} s"
        )
    else:
        install = f"the install failed, so there are no ConvNP numbers: {environment.error}"
    rows: list[list[Any]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="vamoh-convnp-") as folder:
        for split in splits:
            masks = quality.gap_tasks(split.test)
            if not environment.ok:
                rows.append(not_run_row(split.label, f"install failed ({environment.error})"))
            else:
                result = run_convnp(
                    environment, split, masks, budget_seconds, n_threads, Path(folder)
                )
                if result.error:
                    rows.append(not_run_row(split.label, f"failed ({result.error})"))
                    notes.append(f"{split.label}: {result.error}.")
                else:
                    rows += convnp_rows(split, result, masks)
                    info = result.info
                    notes.append(
                        f"{split.label}: {info['optimiser_steps']} optimiser steps, "
                        f"{info['n_parameters']} parameters, deepsensor "
                        f"{info['deepsensor_version']}, torch {info['torch_version']}."
                    )
            rows += baseline_rows(split, masks)
    notes_text = (
        f"DeepSensor environment (benchmarks/.venv-deepsensor from "
        f"benchmarks/deepsensor/requirements.txt with -c constraints-cpu.txt): {install}. "
        + " ".join(notes)
        + " The ConvNP trains on random masks only; its block row shows how that transfers. "
        "vamoh's rows on the same fields and masks are in climate_quality. Quoted reference "
        "(README, not measured here): ConvNP after 15 / 10 min of CPU training scored 0.339 / "
        "1.657 K (ERA5 UK / NCEP, 50% random) and 1.276 / 7.126 K (block)."
    )
    return {
        "name": NAME,
        "title": "DeepSensor ConvNP gap-filling (own venv)",
        "description": description,
        "tables": [table(title, COLUMNS, rows, notes=notes_text)],
        "figures": [],
    }
