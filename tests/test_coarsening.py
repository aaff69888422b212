"""Tests of holstein.coarsening: matched batched quenches, C(r, t), L(t) and the α fit."""
import numpy as np
import pytest
import torch

from holstein import coarsening, dynamics, ed
from holstein.forces import elastic
from holstein.params import PAPER


def _elastic_plus_cdw(Q):
    # a cheap local force with a checkerboard instability: elastic + g·tanh(stagger-free local term)
    return elastic(Q, PAPER) + 1.5 * torch.tanh(Q)


def test_batched_replica_equals_unbatched_run():
    L, n, every = 4, 12, 4
    run = coarsening.run_quenches(_elastic_plus_cdw, L, n, every, seeds=[3, 5], progress=False)
    assert run["Q"].shape == (1 + n // every, 2, L, L)
    for b, s in enumerate([3, 5]):
        Q0, V0 = dynamics.hot_start(L, PAPER, seed=s)
        state = dynamics.init(Q0, _elastic_plus_cdw, PAPER, V0=V0, seed=s)
        _, traj = dynamics.run(state, _elastic_plus_cdw, PAPER, n_steps=n, record_every=every, progress=False)
        np.testing.assert_allclose(run["Q"][:, b], np.asarray(traj.Q), rtol=0, atol=1e-12)


def test_run_quenches_cache(tmp_path):
    path = tmp_path / "run.npz"
    a = coarsening.run_quenches(_elastic_plus_cdw, 4, 6, 3, seeds=[0, 1], path=path, progress=False)
    assert path.exists() and not path.with_suffix(".ckpt").exists()
    b = coarsening.run_quenches(lambda Q: 1 / 0, 4, 6, 3, seeds=[0, 1], path=path, progress=False)  # loaded
    np.testing.assert_array_equal(a["Q"], b["Q"])


def test_run_temperatures_keys_and_per_temperature_force(tmp_path):
    fn = lambda kT: (lambda Q: ed.forces(Q, PAPER.replace(kT=kT)))  # noqa: E731
    fn.per_temperature = True
    out = coarsening.run_temperatures(fn, 4, 4, 2, kTs=(0.05, 0.1), seeds=[0], cache_dir=tmp_path, tag="ed",
                                      progress=False)
    assert sorted(out) == [0.05, 0.1]
    assert out[0.1]["Q"].shape == (3, 1, 4, 4)
    assert len(list(tmp_path.glob("ensemble_ed_*.npz"))) == 2


def test_dataset_trajectories_matches_generation():
    from holstein import data

    class DS:  # a tiny stand-in with the dataset's arrays
        pass

    p = PAPER
    ds = DS()
    runs = []
    for r in range(2):
        Q0, V0 = dynamics.hot_start(4, p, seed=r + 1)
        st = dynamics.init(Q0, lambda Q: ed.forces(Q, p), p, V0=V0, seed=r + 1)
        _, tr = dynamics.run(st, lambda Q: ed.forces(Q, p), p, n_steps=4, record_every=2, progress=False)
        runs.append(tr)
    ds.Q = np.concatenate([np.zeros((1, 4, 4))] + [np.asarray(t.Q)[1:] for t in runs])
    ds.kind = np.array([0, 1, 1, 1, 1])
    ds.run = np.array([-1, 0, 0, 1, 1])
    ds.time = np.concatenate([[0.0]] + [np.asarray(t.time)[1:] for t in runs])
    ds.meta, ds.params = {"seed": 0}, p
    ens = coarsening.dataset_trajectories(ds)
    assert ens["Q"].shape == (2, 2, 4, 4)
    assert list(ens["seeds"]) == [1, 2]
    again = coarsening.run_quenches(lambda Q: ed.forces(Q, p), 4, 4, 2, seeds=ens["seeds"], progress=False)
    np.testing.assert_allclose(again["Q"][1:], ens["Q"], atol=1e-10)


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
    g = coarsening.domain_growth([1.0, 4.0, 16.0], Q)
    assert g["C"].shape[0] == 3 and np.allclose(g["C"][:, 0], 1.0)
    assert np.all(np.diff(g["L"]) > 0)


def test_growth_exponent_recovers_one_half():
    rng = np.random.default_rng(1)
    L = 64
    sizes = [2, 4, 8, 16]
    t = np.array([s ** 2 for s in sizes], dtype=float)  # L ∝ t^(1/2)
    Q = np.stack([np.stack([_domains(L, s, rng) for _ in range(3)]) for s in sizes])
    res = coarsening.growth_exponent(t, Q, t_min=0.0, t_max=t[-1])
    assert res["n_points"] == 4
    assert res["alpha"] == pytest.approx(0.5, abs=0.1)
    assert np.isfinite(res["alpha_err_jackknife"]) and res["alpha_err"] >= res["alpha_err_fit"]


def test_growth_exponent_too_few_points_is_nan():
    rng = np.random.default_rng(2)
    Q = np.stack([_domains(16, 2, rng)[None] for _ in range(2)])  # (T=2, B=1, L, L)
    res = coarsening.growth_exponent([1.0, 2.0], Q)
    assert np.isnan(res["alpha"]) and res["fit"] is None


def test_default_window():
    t = np.linspace(0, 100, 11)
    Lt = np.linspace(1, 20, 11)
    t0, t1 = coarsening.default_window(t, Lt, L_sys=40)
    assert t0 == pytest.approx(10.0) and Lt[list(t).index(t1)] <= 10
