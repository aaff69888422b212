"""KPM densities against ED, exact limits, sum rule, symmetry, batching and input checks."""
import math

import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev

from holstein import PAPER, ed, kpm
from holstein.bench.kpm import kpm_accuracy, quench_like
from holstein.data import random_configurations
from holstein.forces import elastic
from holstein.lattice import D4_OPS, translate


def _hot(L, B=2, seed=0):
    """Q ~ N(0, sqrt(5/κ)), as data.random_configurations (g|Q| up to ~60)."""
    return torch.as_tensor(random_configurations(L, PAPER, B, seed))


def _checkerboard(L, seed=0):
    """Self-consistent checkerboard with a straight domain wall pair and noise 0.3."""
    return torch.as_tensor(quench_like(L, PAPER, "stripes", seed=seed))


@pytest.mark.parametrize("L", [8, 12])
@pytest.mark.parametrize("config", ["hot", "checkerboard"])
def test_matches_ed_with_probing(L, config):
    Q = _hot(L) if config == "hot" else _checkerboard(L)
    n_ed = ed.density(Q, PAPER)
    sol = kpm.solve(Q, PAPER, probe_distance=6 if L == 12 else 8, tol=1e-4)
    assert sol.probe_period == (6 if L == 12 else 8) and sol.n.shape == Q.shape
    assert (sol.n - n_ed).abs().max() < 1e-3
    F = kpm.forces(Q, PAPER, probe_distance=sol.probe_period, tol=1e-4)
    assert torch.allclose(F, PAPER.g * (sol.n - 0.5) + elastic(Q, PAPER), atol=1e-12, rtol=0)
    assert (F - ed.forces(Q, PAPER)).abs().max() < PAPER.g * 1e-3


def test_error_decreases_with_moments_and_full_probing_is_exact():
    Q = _checkerboard(8, seed=3)
    n_ed = ed.density(Q, PAPER)
    errs = [float((kpm.density(Q, PAPER, n_moments=M, probe_distance=8) - n_ed).abs().max())
            for M in (100, 200, 400, 800)]
    assert all(b < 0.5 * a for a, b in zip(errs, errs[1:])), errs
    # P = L: only the Chebyshev truncation error is left
    assert (kpm.density(Q, PAPER, probe_distance=8, tol=1e-12) - n_ed).abs().max() < 1e-10


def test_truncation_error_below_tol():
    """moments_needed gives a Fermi-function truncation error ≤ tol on [-1, 1] (worst case μ = b)."""
    a, kT = 30.0, 0.1
    for tol in (1e-3, 1e-6):
        M = kpm.moments_needed(a, kT, tol)
        c = kpm.fermi_coefficients(torch.zeros(1), torch.zeros(1), torch.tensor([a]), kT, M)[0].numpy()
        x = np.linspace(-1, 1, 4001)
        err = np.abs(chebyshev.chebval(x, c) - 1 / (1 + np.exp(a * x / kT))).max()
        assert tol / 10 < err <= tol
    assert kpm.moments_needed(2 * a, kT, 1e-3) == pytest.approx(2 * kpm.moments_needed(a, kT, 1e-3), abs=1)


@pytest.mark.parametrize("max_memory", [None, 0])
def test_g_zero_is_half_filling(max_memory):
    p = PAPER.replace(g=0.0)
    kw = {} if max_memory is None else dict(max_memory=max_memory)
    n = kpm.density(_hot(8, B=1), p, probe_distance=4, n_moments=200, **kw)
    assert torch.allclose(n, torch.full_like(n, 0.5), atol=1e-10, rtol=0)


@pytest.mark.parametrize("L, pd", [(8, 4), (12, 3), (12, 12)])
def test_filling_sum_rule_and_stored_equals_two_pass(L, pd):
    Q = _hot(L, B=3, seed=L)
    a = kpm.solve(Q, PAPER, n_moments=301, probe_distance=pd)
    b = kpm.solve(Q, PAPER, n_moments=301, probe_distance=pd, max_memory=0)
    assert torch.allclose(a.n.sum((-2, -1)), torch.full((3,), L * L / 2), atol=1e-9, rtol=0)
    assert torch.allclose(a.n, b.n, atol=1e-11, rtol=0) and torch.allclose(a.mu, b.mu, atol=1e-9, rtol=0)


def test_batched_equals_one_by_one_and_numpy_input():
    Q = torch.cat([_hot(8, B=2), _checkerboard(8)[None]])
    nb = kpm.density(Q, PAPER, n_moments=500, probe_distance=4)
    ns = torch.stack([kpm.density(q.numpy(), PAPER, n_moments=500, probe_distance=4) for q in Q])
    assert torch.allclose(nb, ns, atol=1e-12, rtol=0)
    assert kpm.solve(Q[0], PAPER, n_moments=10).mu.shape == ()


@pytest.mark.parametrize("op", range(8))
def test_d4_and_translation_covariance(op):
    Q = _hot(12, B=1)[0]
    kw = dict(n_moments=400, probe_distance=4)
    n = kpm.density(Q, PAPER, **kw)
    assert torch.allclose(kpm.density(D4_OPS[op](Q), PAPER, **kw), D4_OPS[op](n), atol=1e-12, rtol=0)
    assert torch.allclose(kpm.density(translate(Q, 1, op), PAPER, **kw), translate(n, 1, op), atol=1e-12, rtol=0)


def test_probing_error_decays_with_distance():
    Q = _hot(12, B=1, seed=5)
    n_ed = ed.density(Q, PAPER)
    errs = [float((kpm.density(Q, PAPER, tol=1e-6, probe_distance=d) - n_ed).abs().max()) for d in (2, 4, 6)]
    assert errs[0] > errs[1] > errs[2]


def test_probe_period():
    assert [kpm.probe_period(24, d) for d in (1, 5, 8, 13, 30)] == [1, 6, 8, 24, 24]
    assert kpm.probe_period(40, 8) == 8 and kpm.probe_period(200, 9) == 10


def test_bad_input_raises():
    Q = _hot(8, B=1)[0]
    with pytest.raises(ValueError, match="NaN"):
        kpm.density(torch.full((8, 8), math.nan), PAPER)
    with pytest.raises(ValueError, match="shape"):
        kpm.density(torch.zeros(2, 2, 8, 8), PAPER)
    with pytest.raises(ValueError, match="square"):
        kpm.density(torch.zeros(8, 6), PAPER)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="n_moments"):
            kpm.density(Q, PAPER, n_moments=bad)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="probe_distance"):
            kpm.density(Q, PAPER, probe_distance=bad)
    with pytest.raises(ValueError, match="kT > 0"):
        kpm.density(Q, PAPER.replace(kT=0.0))
    for bad in (0.0, 1.0, -1e-3):
        with pytest.raises(ValueError, match="tol"):
            kpm.density(Q, PAPER, tol=bad)
    with pytest.raises(TypeError):
        kpm.density(Q, dict(g=1.0))


def test_kpm_accuracy_report():
    Q = _checkerboard(8)[None]
    out = kpm_accuracy(Q, PAPER, moments=(100, 400), probe_distances=(8,), tols=(1e-3,))
    assert [r["n_moments"] for r in out["rows"]][:2] == [100, 400]
    assert out["rows"][1]["max_error"] < out["rows"][0]["max_error"] and out["rows"][2]["max_error"] < 1e-3
    assert out["ed_seconds_per_config"] > 0 and 0 < out["rows"][0]["rms_error"] <= out["rows"][0]["max_error"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_matches_cpu():
    Q = _hot(12, B=2)
    a = kpm.density(Q, PAPER, n_moments=300, probe_distance=4)
    b = kpm.density(Q.cuda(), PAPER, n_moments=300, probe_distance=4)
    assert torch.allclose(a, b.cpu(), atol=1e-10, rtol=0)


def test_error_bound_inverts_moments_needed_and_bounds_the_density_error():
    a, kT = 30.0, 0.1
    M = kpm.moments_needed(a, kT, 1e-4)
    assert kpm.error_bound(M, a, kT) <= 1e-4 < kpm.error_bound(M - 1, a, kT)
    Q = _checkerboard(8, seed=3)
    moments = [100, 200, 400]
    errs = kpm.density_errors(Q, ed.density(Q, PAPER), PAPER, moments, probe_distance=8)
    assert errs.shape == (3,) and (errs[1:] < errs[:-1]).all()
    half = float(kpm.spectral_bounds(Q, PAPER)[1])
    assert (errs <= kpm.error_bound(moments, half, PAPER.kT)).all()
