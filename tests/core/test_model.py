"""Behaviour of the engine: masks, overfitting, errors, checkpoints, resuming."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import vamoh
from vamoh.config import VaMoHConfig
from vamoh.model import PointBatch, VaMoH
from vamoh.toy import ToyModality

TINY = dict(
    dim_z=8,
    n_components=2,
    fourier_features=16,
    encoder_centroids=[16, 4],
    encoder_neighbours=[4, 3],
    encoder_channels=[16, 16],
    encoder_weight_net=[8],
    hypernet_layers=[32, 64],
    generator_layers=[32, 32],
    categorical_layers=[16],
    flow_layers=2,
    batch_size=8,
    lr=3e-3,
)


@pytest.fixture
def toy():
    with vamoh.plugins.registered(ToyModality.plugin()):
        yield


def waves(n: int = 24, points: int = 48, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 3, points)
    return np.sin(x[None] * rng.uniform(1, 2, (n, 1)) + rng.uniform(0, 3, (n, 1)))


def test_mixed_sizes_in_a_batch_match_one_by_one() -> None:
    torch.manual_seed(0)
    model = VaMoH(VaMoHConfig(**TINY), dim=1, channels=1).eval()
    x = torch.rand(40, 1) * 2 - 1  # irregular: no equidistant ties in the neighbour search
    y = torch.randn(3, 40, 1)
    valid = torch.ones(3, 40, 1, dtype=torch.bool)
    valid[1, 25:] = False  # sample 1 has 25 points, sample 2 has 18
    valid[2, 18:] = False
    together = model.encode(PointBatch(x, y, valid, x, y, valid, torch.ones(3)))
    for b in range(3):
        n = int(valid[b, :, 0].sum())
        alone = model.encode(
            PointBatch(x[:n], y[b : b + 1, :n], valid[b : b + 1, :n], x, y, valid, torch.ones(1))
        )
        assert torch.allclose(together.loc[b], alone.loc[0], atol=1e-5)
        assert torch.allclose(together.scale[b], alone.scale[0], atol=1e-5)


def test_absent_points_are_never_read() -> None:
    torch.manual_seed(0)
    model = VaMoH(VaMoHConfig(**TINY), dim=1, channels=1).eval()
    x = torch.linspace(-1, 1, 30)[:, None]
    y = torch.randn(1, 30, 1)
    valid = torch.rand(1, 30, 1) > 0.4
    garbage = torch.where(valid, y, torch.full_like(y, 1e6))
    a = model.encode(PointBatch(x, y, valid, x, y, valid, torch.ones(1)))
    b = model.encode(PointBatch(x, garbage, valid, x, y, valid, torch.ones(1)))
    assert torch.allclose(a.loc, b.loc)


@pytest.mark.parametrize("precision", ["fp32", "bf16-mixed"])
def test_tiny_model_overfits_a_small_batch(precision: str) -> None:
    torch.manual_seed(0)
    data = torch.as_tensor(waves(4, 32), dtype=torch.float32)[..., None]
    x = torch.linspace(-1, 1, 32)[:, None]
    valid = torch.ones_like(data, dtype=torch.bool)
    batch = PointBatch(x, data, valid, x, data, valid, torch.ones(4))
    cfg = VaMoHConfig(**{**TINY, "lr": 3e-3, "flow_layers": 0, "precision": precision})
    model = VaMoH(cfg, dim=1, channels=1)
    model.categorical_active.fill_(True)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    first = None
    for _ in range(300):
        opt.zero_grad()
        terms = model.elbo(batch)
        terms["loss"].backward()
        opt.step()
        first = first if first is not None else float(terms["elbo"].mean())
    last = float(model.elbo(batch)["elbo"].mean())
    assert last > first + 20
    mse = float(((model.predict(batch, n_samples=0).mean - data) ** 2).mean())
    assert mse < 0.1 * float(data.var())


def test_fit_impute_and_roundtrip_through_the_api(toy, tmp_path) -> None:
    data = waves()
    model = vamoh.fit(
        data, modality="toy", max_epochs=15, progress=False, config={**TINY, "point_dropout": 0.5}
    )
    gaps = data[:4].copy()
    gaps[:, ::2] = np.nan
    filled = model.impute(gaps)
    assert np.isfinite(filled["v0"].values).all()
    np.testing.assert_array_equal(filled["v0"].values[:, 1::2], data[:4, 1::2])
    assert (filled["v0_std"].values[:, 1::2] == 0).all()
    rmse = np.sqrt(np.mean((filled["v0"].values[:, ::2] - data[:4, ::2]) ** 2))
    assert rmse < 0.5 * data.std()
    path = model.save(tmp_path / "toy.vamoh")
    with pytest.raises(FileExistsError):
        model.save(path)
    again = vamoh.load(path)
    np.testing.assert_allclose(
        again.reconstruct(data[:2])["v0"].values,
        model.reconstruct(data[:2])["v0"].values,
        atol=0.3,
    )
    assert again.segment(data[:2])["component"].shape == (2, 48)
    assert model.sample(3, like=data[:1])["v0"].shape == (3, 48)
    fine = model.super_resolve(data[:2], factor=2)
    assert fine["v0"].shape == (2, 95)


def test_corrupt_and_foreign_checkpoints_get_clear_errors(tmp_path) -> None:
    from vamoh.checkpoint import CheckpointError

    corrupt = tmp_path / "bad.vamoh"
    corrupt.write_bytes(b"not a torch file at all")
    with pytest.raises(CheckpointError, match="not a readable vamoh model"):
        vamoh.load(corrupt)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a vamoh model"):
        vamoh.load(foreign)


def test_nan_loss_stops_training_with_the_step(toy) -> None:
    data = waves(8)
    with pytest.raises(FloatingPointError, match="at step"):
        vamoh.fit(
            data,
            modality="toy",
            max_epochs=2,
            progress=False,
            config={**TINY, "lr": 1e30, "grad_clip": 0.0},
        )


def test_resumed_training_matches_an_uninterrupted_run(toy, tmp_path) -> None:
    data = waves(16)
    config = {**TINY, "point_dropout": 0.3}

    def run(epochs: int, name: str, resume=None):
        return vamoh.fit(
            data,
            modality="toy",
            max_epochs=epochs,
            progress=False,
            config=config,
            val_fraction=0,
            checkpoint_dir=tmp_path / name,
            resume=resume,
        )

    uninterrupted = run(3, "full")
    run(2, "interrupted")
    resumed = run(3, "resumed", resume=tmp_path / "interrupted" / "last.ckpt")
    assert resumed.info["epochs"] == 3
    expected = uninterrupted.network.state_dict()
    for name, value in resumed.network.state_dict().items():
        assert torch.equal(value, expected[name]), name


def test_bad_config_is_rejected_before_training(toy) -> None:
    with pytest.raises(ValueError, match="centroids"):
        vamoh.fit(waves(4, 10), modality="toy", config={**TINY, "encoder_centroids": [64, 4]})
    with pytest.raises(ValueError, match="unknown VaMoHConfig fields"):
        vamoh.fit(waves(4), modality="toy", config={"not_a_field": 1})
    with pytest.raises(ValueError, match="likelihood"):
        vamoh.fit(waves(4), modality="toy", config={**TINY, "likelihood": "bernoulli"})
    with pytest.raises(ValueError, match="bf16-mixed"):
        vamoh.fit(waves(4), modality="toy", config=TINY, trainer={"precision": "16-mixed"})


def test_lightning_bf16_precision_becomes_the_models_own(toy) -> None:
    model = vamoh.fit(
        waves(8),
        modality="toy",
        max_epochs=1,
        progress=False,
        config=TINY,
        trainer={"precision": "bf16-mixed"},
    )
    assert model.network.config.precision == "bf16-mixed"
    filled = model.impute(np.where(np.arange(48) % 3 == 0, np.nan, waves(2)))
    assert np.isfinite(filled).all()


def test_all_nan_samples_are_dropped_with_a_warning(toy) -> None:
    data = waves(10)
    data[3] = np.nan
    with pytest.warns(UserWarning, match="entirely NaN"):
        vamoh.fit(data, modality="toy", max_epochs=1, progress=False, config=TINY)
    with pytest.raises(ValueError, match="nothing to train"):
        vamoh.fit(np.full((3, 48), np.nan), modality="toy", max_epochs=1, config=TINY)


@pytest.mark.parametrize("conditioning", ["local", "hybrid", "local+hybrid"])
def test_conditioning_options_train_and_predict(toy, conditioning) -> None:
    data = waves(16)
    model = vamoh.fit(
        data,
        modality="toy",
        max_epochs=3,
        progress=False,
        config={**TINY, "conditioning": conditioning, "local_neighbours": 4},
    )
    gaps = data[:2].copy()
    gaps[:, 10:20] = np.nan
    filled = model.impute(gaps)
    assert np.isfinite(filled["v0"].values).all()
    assert model.sample(2, like=data[:1])["v0"].shape == (2, 48)


def test_fit_calibrates_intervals_and_reports_against_the_baseline(toy, tmp_path) -> None:
    data = waves(24)
    model = vamoh.fit(
        data, modality="toy", max_epochs=3, progress=False, config={**TINY, "point_dropout": 0.5}
    )
    # a backbone fit calibrates per task kind on task examples of its validation fields
    scales = model.predictor.std_scale
    assert scales["points"] > 0 and scales["points"] != 1.0
    assert set(model.report["gap filling 50%"]) == {"vamoh", "interpolation"}
    hidden = np.random.default_rng(0).random(data[-3:].shape) < 0.5
    scores = model.evaluate(data[-3:], mask=hidden.astype(float))
    assert 0.75 <= scores["coverage90"] <= 1.0
    again = vamoh.load(model.save(tmp_path / "calibrated.vamoh"))
    assert again.predictor.std_scale == pytest.approx(scales)


def test_predictions_are_repeatable(toy) -> None:
    data = waves(12)
    model = vamoh.fit(data, modality="toy", max_epochs=1, progress=False, config=TINY)
    gaps = data[:3].copy()
    gaps[:, ::3] = np.nan
    first, second = model.impute(gaps), model.impute(gaps)
    np.testing.assert_array_equal(first["v0_std"].values, second["v0_std"].values)


def test_fps_order_centroids_are_observed_spread_and_nested() -> None:
    torch.manual_seed(0)
    cfg = VaMoHConfig(**{**TINY, "centroid_method": "fps_order"})
    model = VaMoH(cfg, dim=2, channels=1).eval()
    x = torch.rand(60, 2)
    mask = torch.rand(4, 60) > 0.4
    plan = model.encoder.plan(x.numpy(), mask.numpy(), torch.device("cpu"))
    first, second = plan.centroids[0].numpy(), plan.centroids[1].numpy()
    assert mask.numpy()[np.arange(4)[:, None], first].all()  # only observed points
    # the next level takes the first centroids of this one: the same farthest-point order
    assert (second == np.arange(second.shape[1])).all()
    batch = PointBatch(x, torch.randn(4, 60, 1), mask[..., None], x, None, None, torch.ones(4))
    assert torch.isfinite(model.encode(batch).loc).all()


def test_bf16_mixed_precision_trains_and_predicts_in_float32() -> None:
    torch.manual_seed(0)
    data = torch.as_tensor(waves(4, 32), dtype=torch.float32)[..., None]
    x = torch.linspace(-1, 1, 32)[:, None]
    valid = torch.ones_like(data, dtype=torch.bool)
    batch = PointBatch(x, data, valid, x, data, valid, torch.ones(4))
    exact = VaMoH(VaMoHConfig(**TINY), dim=1, channels=1)
    mixed = VaMoH(VaMoHConfig(**{**TINY, "precision": "bf16-mixed"}), dim=1, channels=1)
    mixed.load_state_dict(exact.state_dict())
    terms = mixed.elbo(batch)
    assert terms["loss"].dtype == torch.float32 and torch.isfinite(terms["loss"])
    terms["loss"].backward()
    head = mixed.generators.head.weight.grad
    assert head is not None and head.dtype == torch.float32 and head.abs().sum() > 0
    with torch.no_grad():
        a = exact.eval().predict(batch, n_samples=0).mean
        b = mixed.eval().predict(batch, n_samples=0).mean
    assert b.dtype == torch.float32
    # bfloat16 keeps 8 bits of mantissa: close to, not equal to, the float32 result
    assert 0 < float((a - b).abs().max()) < 0.05 * float(a.abs().max()) + 1e-3
    with pytest.raises(ValueError, match="precision"):
        VaMoHConfig(precision="fp16").validate()
