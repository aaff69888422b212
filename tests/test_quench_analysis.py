"""Snapshot quenches through the engine (a batched replica == its unbatched run; a stored run is
identity-checked) and the ensemble L(t) and α of domain fields (holstein.quench.analysis)."""
import numpy as np
import pytest
import torch

from holstein import dynamics, observables, quench
from holstein.forces import elastic
from holstein.params import PAPER


def _elastic_plus_cdw(Q):
    # a cheap local force with a checkerboard instability: elastic + g·tanh(stagger-free local term)
    return elastic(Q, PAPER) + 1.5 * torch.tanh(Q)


def test_batched_replica_equals_unbatched_run():
    L, n, every = 4, 12, 4
    run = quench.run(_elastic_plus_cdw, L, [3, 5], PAPER, n, every, snapshots=True, progress=False)[1]
    assert run["Q"].shape == (1 + n // every, 2, L, L)
    for b, s in enumerate([3, 5]):
        Q0, V0 = dynamics.hot_start(L, PAPER, seed=s)
        state = dynamics.init(Q0, _elastic_plus_cdw, PAPER, V0=V0, seed=s)
        _, traj = dynamics.run(state, _elastic_plus_cdw, PAPER, n_steps=n, record_every=every, progress=False)
        np.testing.assert_allclose(run["Q"][:, b], np.asarray(traj.Q), rtol=0, atol=1e-12)


def test_a_stored_snapshot_run_is_identity_checked(tmp_path):
    path = tmp_path / "run.npz"
    _elastic_plus_cdw.id = "toy"
    a = quench.run(_elastic_plus_cdw, 4, [0, 1], PAPER, 6, 3, path, snapshots=True, progress=False)[1]
    assert path.exists() and not quench.files(path)[2].exists()
    b = quench.run(_elastic_plus_cdw, 4, [0, 1], PAPER, 6, 3, path, snapshots=True, progress=False)[1]  # loaded
    np.testing.assert_array_equal(a["Q"], b["Q"])
    with pytest.raises(ValueError, match="seeds"):  # the old cache returned whatever file was there
        quench.run(_elastic_plus_cdw, 4, [0, 2], PAPER, 6, 3, path, snapshots=True, progress=False)


def _domains(L, size, rng):
    """A field of square checkerboard domains of side ``size`` with random phases."""
    x = np.arange(L)
    s = (1 - 2 * ((x[:, None] + x[None, :]) % 2))
    phases = rng.choice([-1.0, 1.0], size=(L // size, L // size))
    return s * np.kron(phases, np.ones((size, size)))


def test_domain_growth_tracks_domain_size():
    rng = np.random.default_rng(0)
    L = 32
    Q = np.stack([np.stack([_domains(L, s, rng) for _ in range(4)]) for s in (2, 4, 8)])  # (T=3, B=4, L, L)
    g = quench.growth_exponent(quench.compact_observables([1.0, 4.0, 16.0], Q))["growth"]
    assert g["C"].shape[0] == 3 and np.allclose(g["C"][:, 0], 1.0)
    assert np.all(np.diff(g["L"]) > 0)


def _alpha(t, Q, **kw):
    return quench.growth_exponent(quench.compact_observables(t, Q), **kw)


def test_growth_exponent_recovers_one_half():
    rng = np.random.default_rng(1)
    L = 64
    sizes = [2, 4, 8, 16]
    t = np.array([s ** 2 for s in sizes], dtype=float)  # L ∝ t^(1/2)
    Q = np.stack([np.stack([_domains(L, s, rng) for _ in range(3)]) for s in sizes])
    res = _alpha(t, Q, t_min=0.0, t_max=t[-1])
    assert res["n_points"] == 4
    assert res["alpha"] == pytest.approx(0.5, abs=0.1)
    assert np.isfinite(res["alpha_err_jackknife"]) and res["alpha_err"] >= res["alpha_err_fit"]
    # the compact ensemble L(t) is the snapshot ensemble's: C(r) of the replica-averaged G(r), C(L) = 1/2
    for k in range(len(t)):
        r, C = observables.correlation(Q[k], average_batch=True, dr=1.0)
        assert res["growth"]["L"][k] == pytest.approx(observables.domain_size(r, C), rel=1e-12)


def test_growth_exponent_too_few_points_is_nan():
    rng = np.random.default_rng(2)
    Q = np.stack([_domains(16, 2, rng)[None] for _ in range(2)])  # (T=2, B=1, L, L)
    res = _alpha(np.array([1.0, 2.0]), Q)
    assert np.isnan(res["alpha"]) and res["fit"] is None


def test_default_window():
    t = np.linspace(0, 100, 11)
    Lt = np.linspace(1, 20, 11)
    t0, t1 = quench.default_window(t, Lt, L_sys=40)
    assert t0 == pytest.approx(10.0) and Lt[list(t).index(t1)] <= 10
