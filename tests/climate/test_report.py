"""The honesty report: model vs cubic and climatology-aware cubic on the held-out samples."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import vamoh
from vamoh_climate import ClimateModality, baselines
from vamoh_climate import report as report_module
from vamoh_climate.report import validation_report
from vamoh_climate.synthetic import global_field, stations

MODALITY = ClimateModality()
GRID_METHODS = ["clim+cubic", "cubic", "vamoh"]


class Oracle:
    """Stands in for a trained model: knows the truth, so its RMSE is exactly zero."""

    def __init__(self, truth: xr.Dataset) -> None:
        self.truth = truth
        self.calls: list[str] = []

    def impute(self, data: xr.Dataset) -> xr.Dataset:
        self.calls.append("impute")
        out = self.truth.copy()
        for name in self.truth.data_vars:
            out[f"{name}_std"] = xr.ones_like(self.truth[name])
        return out

    def predict(self, data: xr.Dataset, *, at: xr.Dataset) -> xr.Dataset:
        self.calls.append("predict")
        return at.copy()


def _split(data: xr.Dataset, n_train: int) -> tuple[Any, Any]:
    return MODALITY.to_points(data.isel(time=slice(0, n_train))), MODALITY.to_points(
        data.isel(time=slice(n_train, None))
    )


def test_grid_report_has_both_tasks_and_the_baselines() -> None:
    data = global_field(8, 8, 16, seed=2)
    train, val = _split(data, 6)
    oracle = Oracle(MODALITY.from_points(val))
    report = validation_report(MODALITY, oracle, train, val)
    assert sorted(report) == ["downscaling x2", "gap filling 50%"]
    for scores in report.values():
        assert sorted(scores) == GRID_METHODS
        assert scores["vamoh"] == 0.0  # the oracle
        assert all(np.isfinite(v) and v > 0 for k, v in scores.items() if k != "vamoh")
    assert oracle.calls == ["predict", "impute"]


def test_baseline_scores_match_the_baselines_module() -> None:
    data = global_field(8, 8, 16, seed=2)
    train, val = _split(data, 6)
    report = validation_report(MODALITY, Oracle(MODALITY.from_points(val)), train, val)
    test = data.isel(time=slice(6, None))
    clim = data.t2m.isel(time=slice(0, 6)).mean("time")
    coarse = baselines.block_mean(test, 2)
    from vamoh_climate.metrics import rmse

    expected_cubic = float(rmse(test.t2m, baselines.downscale(coarse, 2, "cubic").t2m))
    expected_clim = float(rmse(test.t2m, baselines.downscale_climatology(coarse, clim, 2).t2m))
    assert report["downscaling x2"]["cubic"] == pytest.approx(expected_cubic, rel=1e-6)
    assert report["downscaling x2"]["clim+cubic"] == pytest.approx(expected_clim, rel=1e-5)


def test_tiny_grids_skip_downscaling() -> None:
    data = global_field(4, 3, 3)
    train, val = _split(data, 3)
    report = validation_report(MODALITY, Oracle(MODALITY.from_points(val)), train, val)
    assert list(report) == ["gap filling 50%"]


def test_fields_with_gaps_are_not_downscaled() -> None:
    data = global_field(4, 8, 16)
    data["t2m"][3, 0, 0] = np.nan  # the only validation sample has a gap
    train, val = _split(data, 3)
    report = validation_report(MODALITY, Oracle(MODALITY.from_points(val)), train, val)
    assert list(report) == ["gap filling 50%"]


def test_stations_report_gap_filling_with_idw() -> None:
    data = stations(8, 12)
    train = MODALITY.to_points(data.isel(time=slice(0, 9)))
    val = MODALITY.to_points(data.isel(time=slice(9, None)))
    report = validation_report(MODALITY, Oracle(MODALITY.from_points(val)), train, val)
    assert list(report) == ["gap filling 50%"]
    assert sorted(report["gap filling 50%"]) == ["clim+idw", "idw", "vamoh"]


def test_several_variables_are_reported_one_by_one() -> None:
    data = global_field(6, 8, 16)
    data["u10"] = (data.t2m - 280.0).assign_attrs(units="m s-1")
    train, val = _split(data, 4)
    report = validation_report(MODALITY, Oracle(MODALITY.from_points(val)), train, val)
    assert sorted(report) == [
        "downscaling x2 (t2m)",
        "downscaling x2 (u10)",
        "gap filling 50% (t2m)",
        "gap filling 50% (u10)",
    ]


def test_large_validation_sets_are_subsampled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report_module, "MAX_REPORT_VALUES", 2 * 128)
    data = global_field(10, 8, 16)
    train, val = _split(data, 4)
    seen: list[int] = []

    class Counting(Oracle):
        def impute(self, data: xr.Dataset) -> xr.Dataset:
            seen.append(data.t2m.shape[0])
            return baselines.fill_gaps(data, "nearest")

    report = validation_report(MODALITY, Counting(MODALITY.from_points(val)), train, val)
    assert seen == [2] and np.isfinite(report["gap filling 50%"]["vamoh"])


def test_a_failing_task_is_a_warning_not_a_crash() -> None:
    data = global_field(6, 8, 16)
    train, val = _split(data, 4)

    class Broken(Oracle):
        def predict(self, data: xr.Dataset, *, at: xr.Dataset) -> xr.Dataset:
            raise RuntimeError("boom")

    with pytest.warns(UserWarning, match="skipped downscaling: RuntimeError: boom"):
        report = validation_report(MODALITY, Broken(MODALITY.from_points(val)), train, val)
    assert list(report) == ["gap filling 50%"]


def test_fit_stores_the_report(tmp_path: Path) -> None:
    data = global_field(10, 8, 16, seed=4)
    model = vamoh.fit(data, max_epochs=1, progress=False, val_fraction=0.2, checkpoint_dir=tmp_path)
    report = model.info["report"]
    assert sorted(report) == ["downscaling x2", "gap filling 50%"]
    linear = {
        "downscaling x2": [report_module.EOF_POSTERIOR],
        "gap filling 50%": [report_module.EOF_POSTERIOR, report_module.DINEOF],
    }
    assert all(
        sorted(scores)
        == sorted([*GRID_METHODS, report_module.OPTIMAL_INTERPOLATION, *linear[task]])
        for task, scores in report.items()
    )
    assert all(np.isfinite(v) for scores in report.values() for v in scores.values())


def test_a_station_fit_reports_gap_filling_and_imputes(tmp_path: Path) -> None:
    data = stations(8, 40, seed=2)
    model = vamoh.fit(data, max_epochs=1, progress=False, checkpoint_dir=tmp_path)
    assert list(model.info["report"]) == ["gap filling 50%"]
    assert sorted(model.info["report"]["gap filling 50%"]) == [
        "clim+idw",
        "idw",
        "optimal interp.",
        "vamoh",
    ]
    filled = model.impute(data.isel(time=slice(0, 3)))
    assert filled.tas.dims == ("location", "time") and filled.tas.attrs["units"] == "degC"
    assert not bool(filled.tas.isnull().any())


def test_a_backbone_model_reports_its_backbone_alone() -> None:
    model = vamoh.fit(global_field(24, 8, 16, seed=3), max_epochs=1, progress=False)
    assert model.report and all(
        np.isfinite(scores[report_module.OPTIMAL_INTERPOLATION]) for scores in model.report.values()
    )
    alone = model.backbone_only()
    assert alone.predictor.on == {"head": False, "residual": False}
    assert alone.predictor.backbone is model.predictor.backbone
    assert model.predictor.on != alone.predictor.on or not any(model.predictor.on.values())
    # the paper's model alone has no backbone to compare with
    plain = vamoh.fit(
        global_field(12, 8, 16), max_epochs=1, progress=False, config={"conditioning": "global"}
    )
    assert plain.backbone_only() is None
    assert all(report_module.OPTIMAL_INTERPOLATION not in s for s in plain.report.values())
