"""The model's mathematics checked against independent computations."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.distributions import Normal, kl_divergence

from vamoh.likelihoods import (
    BernoulliLikelihood,
    ContinuousBernoulliLikelihood,
    DiscretisedLogistic,
    GaussianLikelihood,
)
from vamoh.nn.prior import PlanarFlowPrior, PlanarLayer


def test_planar_logdet_matches_autograd_jacobian() -> None:
    torch.manual_seed(1)
    layer = PlanarLayer(4)
    with torch.no_grad():
        layer.u.mul_(10)
        layer.w.mul_(10)
    for _ in range(5):
        z = torch.randn(1, 4, dtype=torch.float64)
        layer64 = layer.double()
        _, logdet = layer64(z)
        jac = torch.autograd.functional.jacobian(lambda v: layer64(v[None])[0][0], z[0])
        expected = torch.linalg.slogdet(jac).logabsdet
        assert torch.allclose(logdet[0], expected, atol=1e-8)


def test_invertibility_constraint_holds_after_training() -> None:
    torch.manual_seed(0)
    prior = PlanarFlowPrior(dim=2, layers=4)
    # fit the flow to a shifted, squashed target; arbitrary u and w are pushed around freely
    opt = torch.optim.Adam(prior.parameters(), lr=0.05)
    target = torch.randn(512, 2) * torch.tensor([3.0, 0.3]) + 2.0
    for _ in range(200):
        opt.zero_grad()
        loss = -prior.log_prob(target).mean()
        loss.backward()
        opt.step()
    for layer in prior.layers:
        assert float((layer.w @ layer.u_hat()).detach()) > -1.0
    z = prior.sample(64)
    inverted = z
    for layer in reversed(prior.layers):
        inverted, _ = layer.inverse(inverted)
    forward = inverted
    for layer in prior.layers:
        forward, _ = layer(forward)
    assert torch.allclose(forward, z, atol=1e-4)


def test_flow_density_integrates_to_one() -> None:
    torch.manual_seed(3)
    prior = PlanarFlowPrior(dim=2, layers=3)
    with torch.no_grad():
        for layer in prior.layers:
            layer.u.mul_(8)
            layer.w.mul_(8)
    grid = torch.linspace(-30, 30, 1201, dtype=torch.float64)
    xx, yy = torch.meshgrid(grid, grid, indexing="ij")
    pts = torch.stack([xx.ravel(), yy.ravel()], -1)
    prior = prior.double()
    with torch.no_grad():
        mass = prior.log_prob(pts).exp().sum() * (grid[1] - grid[0]) ** 2
    assert abs(float(mass) - 1.0) < 1e-2


def test_gaussian_likelihood_integrates_to_one() -> None:
    lik = GaussianLikelihood()
    params = torch.tensor([[[0.3, -1.0]]], dtype=torch.float64)  # mean 0.3, softplus(-1) scale
    y = torch.linspace(-10, 10, 20001, dtype=torch.float64)[:, None]
    density = lik.log_prob(params.expand(len(y), 1, 2), y).exp()
    assert abs(float(density.sum() * (y[1] - y[0])) - 1.0) < 1e-4


def test_continuous_bernoulli_integrates_to_one() -> None:
    lik = ContinuousBernoulliLikelihood()
    for logit in (-3.0, 0.01, 2.5):
        y = torch.linspace(0, 1, 100001, dtype=torch.float64)[:, None]
        params = torch.full((len(y), 1, 1), logit, dtype=torch.float64)
        density = lik.log_prob(params, y).exp()
        assert abs(float(torch.trapezoid(density[:, 0], y[:, 0])) - 1.0) < 1e-3


def test_bernoulli_sums_to_one() -> None:
    lik = BernoulliLikelihood()
    params = torch.tensor([[[0.7]], [[0.7]]])
    mass = lik.log_prob(params, torch.tensor([[0.0], [1.0]])).exp().sum()
    assert abs(float(mass) - 1.0) < 1e-6


def test_discretised_logistic_sums_to_one_and_matches_direct_computation() -> None:
    bins = torch.linspace(-1, 1, 256, dtype=torch.float64)
    for loc, scale in ((0.2, 0.05), (-0.98, 0.3), (1.2, 0.01), (0.0, 2.0)):
        d = DiscretisedLogistic(
            torch.tensor([loc], dtype=torch.float64), torch.tensor([scale], dtype=torch.float64)
        )
        p = d.log_prob(bins[:, None]).exp()[:, 0]
        assert abs(float(p.sum()) - 1.0) < 1e-6

        def sig(v: float) -> float:
            return 1.0 / (1.0 + math.exp(-(v - loc) / scale))

        h = 1.0 / 255.0
        assert math.isclose(float(p[0]), sig(-1 + h), rel_tol=1e-6, abs_tol=1e-12)
        assert math.isclose(float(p[-1]), 1 - sig(1 - h), rel_tol=1e-6, abs_tol=1e-12)
        mid = 100
        v = float(bins[mid])
        direct = sig(v + h) - sig(v - h)
        assert math.isclose(float(p[mid]), direct, rel_tol=1e-4, abs_tol=1e-10)


def test_monte_carlo_kl_matches_closed_form() -> None:
    torch.manual_seed(0)
    q = Normal(torch.tensor([0.5, -1.0, 0.2]), torch.tensor([0.7, 1.3, 0.4]))
    closed = kl_divergence(q, Normal(0.0, 1.0)).sum()
    z = q.rsample((200_000,))
    mc_terms = q.log_prob(z).sum(-1) - Normal(0.0, 1.0).log_prob(z).sum(-1)
    stderr = mc_terms.std() / math.sqrt(len(mc_terms))
    assert abs(float(mc_terms.mean() - closed)) < 4 * float(stderr)


def test_flow_kl_is_reparameterised_and_includes_entropy() -> None:
    from vamoh.config import VaMoHConfig
    from vamoh.model import VaMoH

    cfg = VaMoHConfig(
        dim_z=3,
        flow_layers=2,
        encoder_centroids=[4],
        encoder_neighbours=[2],
        encoder_channels=[4],
        encoder_weight_net=[4],
        hypernet_layers=[4],
        generator_layers=[4],
        categorical_layers=[4],
        fourier_features=4,
    )
    model = VaMoH(cfg, dim=1, channels=1)
    model.flow_active.fill_(True)
    loc = torch.tensor([[0.3, -0.2, 1.0]], requires_grad=True)
    scale = torch.tensor([[0.5, 0.8, 1.2]], requires_grad=True)
    q = Normal(loc, scale)
    z = q.rsample()
    kl = model.kl_z(q, z)
    expected = q.log_prob(z).sum(-1) - model.flow.log_prob(z)
    assert torch.allclose(kl, expected)
    # the encoder's outputs get gradients through z and through the entropy term
    g_loc, g_scale = torch.autograd.grad(kl.sum(), [loc, scale])
    assert g_loc.abs().sum() > 0 and g_scale.abs().sum() > 0
    # averaged over many draws the estimate equals E_q[log q - log p], never the cross-entropy
    zs = q.rsample((50_000,))[:, 0]
    mc = (q.log_prob(zs).sum(-1) - model.flow.log_prob(zs)).mean()
    cross_entropy = -model.flow.log_prob(zs).mean()
    entropy = q.entropy().sum()
    assert abs(float(mc - (cross_entropy - entropy))) < 0.03


def test_neighbour_search_matches_brute_force() -> None:
    from vamoh.neighbours import knn

    rng = np.random.default_rng(0)
    ref = rng.random((3, 200, 3))
    query = rng.random((3, 50, 3))
    mask = rng.random((3, 200)) > 0.3
    idx, dist = knn(ref, query, 6, ref_mask=mask)
    for b in range(3):
        d = np.linalg.norm(query[b, :, None] - ref[b, None], axis=-1)
        d[:, ~mask[b]] = np.inf
        expected = np.sort(d, axis=1)[:, :6]
        np.testing.assert_allclose(dist[b], expected, rtol=1e-9)
        assert mask[b][idx[b]].all()


def test_torch_knn_matches_kdtree() -> None:
    from vamoh.neighbours import knn, knn_torch

    rng = np.random.default_rng(1)
    ref = rng.random((2, 100, 2))
    query = rng.random((2, 30, 2))
    mask = rng.random((2, 100)) > 0.5
    idx_np, _ = knn(ref, query, 4, ref_mask=mask)
    idx_t, _ = knn_torch(torch.as_tensor(ref), torch.as_tensor(query), 4, torch.as_tensor(mask))
    assert (idx_np == idx_t.numpy()).all()


def test_farthest_point_sampling_is_exact() -> None:
    from vamoh.neighbours import farthest_point_sample

    rng = np.random.default_rng(2)
    pts = rng.random((300, 2)).astype(np.float32)
    mask = np.ones((1, 300), bool)
    got = farthest_point_sample(pts, mask, 20)[0]
    chosen = [int(got[0])]  # the kernel chooses its start; every later point must be exact
    dist = np.linalg.norm(pts - pts[chosen[0]], axis=1)
    for _ in range(19):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(pts - pts[nxt], axis=1))
    assert got.tolist() == chosen


def test_farthest_point_order_prefixes_are_farthest_point_samples() -> None:
    from vamoh.neighbours import farthest_point_order, farthest_point_sample, ordered_sample

    rng = np.random.default_rng(5)
    pts = rng.random((400, 3)).astype(np.float32)  # irregular: no equidistant ties
    order = farthest_point_order(pts)
    assert sorted(order.tolist()) == list(range(400))
    everything = np.ones((1, 400), bool)
    assert order[:50].tolist() == farthest_point_sample(pts, everything, 50)[0].tolist()
    # masked samples: the first valid points along the order, in order, each sample its own
    mask = rng.random((3, 400)) > 0.5
    mask[2] = np.arange(400) < 30  # 30 valid points, fewer than asked: repeats, never absent ones
    got = ordered_sample(order, mask, 40)
    for b in range(2):
        expected = [i for i in order.tolist() if mask[b, i]][:40]
        assert got[b].tolist() == expected
    assert mask[2, got[2]].all() and len(set(got[2].tolist())) == 30
