"""Tests of holstein/dynamics.py: Langevin equipartition on the harmonic lattice, determinism,
batched == one-by-one, bit-for-bit resume, Newtonian energy conservation, error handling."""
import math

import pytest
import torch

from holstein import dynamics as dyn
from holstein.forces import elastic, elastic_energy, kinetic_energy
from holstein.params import HolsteinParams

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def harmonic(p):
    """The g = 0 force: the elastic stencil alone."""
    return lambda Q: elastic(Q, p)


def phonon_q2(L, p):
    """Exact ⟨Q_i²⟩ = (1/N) Σ_q kT / (k + 2κ(cos qx + cos qy)) of the harmonic lattice."""
    q = 2 * math.pi * torch.arange(L, dtype=torch.float64) / L
    w2 = p.k + 2 * p.kappa * (torch.cos(q)[:, None] + torch.cos(q)[None, :])
    return float((p.kT / w2).mean())


def assert_same_state(a, b):
    assert torch.equal(a.Q, b.Q) and torch.equal(a.V, b.V) and torch.equal(a.F, b.F)
    assert a.time == b.time and a.step == b.step
    assert len(a.rng) == len(b.rng)
    for g, h in zip(a.rng, b.rng):
        assert torch.equal(g.get_state(), h.get_state())


# ----------------------------------------------------------------------------- 1. equipartition
@pytest.mark.parametrize("scheme", dyn.SCHEMES)
def test_equipartition_harmonic_lattice(scheme):
    # m = 1 and γ = 1 decorrelate Q² within ~1/γ; 64 replicas × 64 sites × 4000 steps (t = 200)
    # give a relative statistical error of ~0.3 % on ⟨Q²⟩ and ~0.2 % on m⟨V²⟩.
    # Discretisation bias at dt = 0.05: O(ω² dt²/4) <= 0.1 % for ω² <= k + 4κ = 1.72 (BAOAB's
    # configurational average is even exact for harmonic forces), i.e. below the stat error.
    p = HolsteinParams(g=0.0, k=1.0, kappa=0.18, mass=1.0, gamma=1.0, kT=0.5, dt=0.05)
    B, L = 64, 8
    f = harmonic(p)
    s = dyn.init(torch.zeros(B, L, L), f, p, seed=11)
    s, _ = dyn.run(s, f, p, 400, record_every=400, scheme=scheme, progress=False)  # burn-in t = 20
    s, tr = dyn.run(s, f, p, 4000, record_every=5, scheme=scheme, fields=("Q", "V"), progress=False)
    q2 = (tr.Q[1:] ** 2).mean(dim=(0, 2, 3))               # (B,) per-replica averages
    mv2 = p.mass * (tr.V[1:] ** 2).mean(dim=(0, 2, 3))     # (B,)
    for est, want in ((q2, phonon_q2(L, p)), (mv2, p.kT)):
        mean, err = float(est.mean()), float(est.std() / math.sqrt(B))  # replicas independent
        assert err < 0.01 * want, "statistical error larger than expected"
        assert abs(mean - want) < 5 * err, (scheme, mean, want, err)
        assert abs(mean - want) < 0.02 * want
    # the test can fail: the closed form at another temperature is many sigma away
    assert abs(float(q2.mean()) - phonon_q2(L, p.replace(kT=0.45))) > 10 * float(q2.std() / math.sqrt(B))


# ----------------------------------------------------------------------------- 2. determinism
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("scheme", dyn.SCHEMES)
def test_same_seed_same_trajectory_and_batched_equals_one_by_one(scheme, device):
    p = HolsteinParams(g=0.0, gamma=0.5, kT=0.3, dt=0.05)
    f = harmonic(p)
    B, L, n = 3, 4, 25
    Q0, V0 = dyn.hot_start(L, p, seed=5, batch=B, q_std=0.5, device=device)
    assert Q0.device.type == device

    def go(Q, V, seed):
        return dyn.run(dyn.init(Q, f, p, V0=V, seed=seed), f, p, n, record_every=5, scheme=scheme,
                       fields=("Q", "V", "F"), progress=False)

    a, ta = go(Q0, V0, 7)
    b, tb = go(Q0, V0, 7)
    assert_same_state(a, b)
    assert torch.equal(ta.Q, tb.Q) and torch.equal(ta.F, tb.F)
    c, _ = go(Q0, V0, 8)
    assert not torch.equal(a.Q, c.Q)
    assert a.rng[0].device.type == device and ta.Q.shape == (1 + n // 5, B, L, L)
    # batched == one-by-one: an int seed means the per-replica seeds replica_seeds(seed, B),
    # a list gives them explicitly (one-element lists for the unbatched runs)
    for seed, seeds in ((7, dyn.replica_seeds(7, B)), ([3, 1, 4], [3, 1, 4])):
        batched, tbat = go(Q0, V0, seed)
        for r in range(B):
            single, tsin = go(Q0[r], V0[r], [seeds[r]])
            assert torch.equal(batched.Q[r], single.Q) and torch.equal(batched.V[r], single.V)
            assert torch.equal(tbat.F[:, r], tsin.F)
    # replica 0 of a batch is the unbatched run with the same integer seed
    single0, _ = go(Q0[0], V0[0], 7)
    assert torch.equal(a.Q[0], single0.Q)
    # hot_start: batched == one-by-one as well
    for r in range(B):
        q, v = dyn.hot_start(L, p, seed=[dyn.replica_seeds(5, B, stream=dyn.HOT_START_STREAM)[r]], q_std=0.5, device=device)
        assert torch.equal(q, Q0[r]) and torch.equal(v, V0[r])


def test_step_is_pure():
    p = HolsteinParams(g=0.0, gamma=1.0, kT=0.5)
    f = harmonic(p)
    s = dyn.init(torch.randn(2, 4, 4), f, p, V0=torch.randn(2, 4, 4), seed=0)
    Q, V, F = s.Q.clone(), s.V.clone(), s.F.clone()
    rng = [g.get_state() for g in s.rng]
    for scheme in dyn.SCHEMES:
        s1, s2 = dyn.step(s, f, p, scheme), dyn.step(s, f, p, scheme)
        assert_same_state(s1, s2)
        assert not torch.equal(s1.Q, Q)
    assert torch.equal(s.Q, Q) and torch.equal(s.V, V) and torch.equal(s.F, F)
    assert all(torch.equal(g.get_state(), r) for g, r in zip(s.rng, rng))
    # run == repeated step
    t = s
    for _ in range(6):
        t = dyn.step(t, f, p, "baoab")
    r, _ = dyn.run(s, f, p, 6, scheme="baoab", progress=False)
    assert_same_state(r, t)


def test_hot_start_defaults_are_standard_deviations():
    p = HolsteinParams()  # κ = 0.18, m = 5: q_std = sqrt(5/κ) ≈ 5.27, v_std = 1
    Q, V = dyn.hot_start(16, p, seed=0, batch=16)       # 4096 samples: std to ~1.1 %
    assert Q.shape == V.shape == (16, 16, 16) and Q.dtype == torch.float64
    assert abs(float(Q.std()) / math.sqrt(5 / p.kappa) - 1) < 0.05
    assert abs(float(V.std()) / math.sqrt(5 / p.mass) - 1) < 0.05
    assert abs(float(Q.std()) - 1) > 1  # not unit variance
    Q1, _ = dyn.hot_start(16, p, seed=0)
    assert torch.equal(Q1, Q[0])


# ----------------------------------------------------------------------------- 3. segments
@pytest.mark.parametrize("scheme", dyn.SCHEMES)
def test_a_run_in_segments_is_the_run_in_one_go(scheme):
    """What the quench engine's checkpoints rely on: run(n) then run(m) from its final state equals
    run(n + m), state and snapshots, bit for bit (the generators continue where they stopped)."""
    p = HolsteinParams(g=0.0, gamma=0.7, kT=0.4, dt=0.05)
    f = harmonic(p)
    s0 = dyn.init(torch.zeros(3, 4, 4), f, p, seed=2)
    kw = dict(record_every=4, scheme=scheme, fields=("Q", "F"), progress=False)
    full, tfull = dyn.run(s0, f, p, 48, **kw)
    mid, t1 = dyn.run(s0, f, p, 28, **kw)
    end, t2 = dyn.run(mid, f, p, 20, **kw)
    assert_same_state(end, full)
    assert torch.equal(torch.cat([t1.Q, t2.Q[1:]]), tfull.Q) and torch.equal(torch.cat([t1.F, t2.F[1:]]), tfull.F)
    assert tfull.V is None and len(tfull) == 1 + 48 // 4
    c, _ = dyn.run(dyn.init(torch.zeros(3, 4, 4), f, p, seed=3), f, p, 48, **kw)
    assert not torch.equal(c.Q, full.Q)  # the comparison can fail


def test_a_state_saved_on_another_kind_of_device_resumes_reproducibly():
    """A GPU run's checkpoint resumed on a CPU (or back): a CUDA generator's 16-byte state cannot be
    loaded into a CPU one, so from_dict seeds new streams from the saved states, warns, and two
    resumes are identical; the replicas keep distinct streams."""
    p = HolsteinParams(g=0.0, gamma=0.7, kT=0.4, dt=0.05)
    f = harmonic(p)
    d = dyn.init(torch.zeros(3, 4, 4), f, p, seed=2).to_dict()
    d["rng"] = [torch.arange(16, dtype=torch.uint8) + b for b in range(3)]   # CUDA-sized states
    with pytest.warns(UserWarning, match="another kind of device"):
        a = dyn.State.from_dict(d)
    with pytest.warns(UserWarning):
        b = dyn.State.from_dict(d)
    ra, _ = dyn.run(a, f, p, 10, progress=False)
    rb, _ = dyn.run(b, f, p, 10, progress=False)
    assert_same_state(ra, rb)
    assert not torch.equal(ra.V[0], ra.V[1]) and not torch.equal(ra.V[1], ra.V[2])


# ----------------------------------------------------------------------------- 4. Newtonian
def _energy_error(dt, n_steps, scheme="vv_ou"):
    p = HolsteinParams(g=0.0, gamma=0.0, kT=0.0, mass=1.0, dt=dt)
    f = harmonic(p)
    Q0, V0 = dyn.hot_start(8, p, seed=3, batch=4)
    s, tr = dyn.run(dyn.init(Q0, f, p, V0=V0), f, p, n_steps, record_every=1, scheme=scheme,
                    fields=("Q", "V"), progress=False)
    E = kinetic_energy(tr.V, p) + elastic_energy(tr.Q, p)   # (T, B)
    return (E - E[0]).abs().max() / E[0].abs().min(), E, tr


def test_newtonian_velocity_verlet_conserves_energy():
    err1, E, tr = _energy_error(0.1, 1000)                   # t = 100: many phonon periods
    err2, _, _ = _energy_error(0.05, 2000)
    assert err1 < 1e-2 and err2 < err1
    assert 3.0 < float(err1 / err2) < 5.0                     # bounded O(dt²) fluctuation
    T = E.shape[0]
    drift = (E[-T // 10:].mean(0) - E[: T // 10].mean(0)).abs() / E[0]
    assert float(drift.max()) < 0.1 * float(err1)             # no secular drift
    # γ = 0 is exactly velocity Verlet in both schemes, and draws no noise even at kT > 0
    p = HolsteinParams(g=0.0, gamma=0.0, kT=1.0, mass=1.0, dt=0.1)
    Q0, V0 = dyn.hot_start(8, p, seed=3, batch=4)
    _, tr_b = dyn.run(dyn.init(Q0, harmonic(p), p, V0=V0, seed=9), harmonic(p), p, 1000,
                      record_every=1, scheme="baoab", fields=("Q", "V"), progress=False)
    assert torch.equal(tr_b.Q, tr.Q) and torch.equal(tr_b.V, tr.V)


def test_newtonian_step_by_hand():
    p = HolsteinParams(g=0.0, gamma=0.0, kT=0.0, mass=2.0, dt=0.1)
    f = harmonic(p)
    Q, V = torch.randn(4, 4), torch.randn(4, 4)
    s = dyn.step(dyn.init(Q, f, p, V0=V), f, p)
    Vh = V + 0.5 * p.dt * f(Q) / p.mass
    Q1 = Q + p.dt * Vh
    assert torch.allclose(s.Q, Q1, atol=1e-14, rtol=0)
    assert torch.allclose(s.V, Vh + 0.5 * p.dt * f(Q1) / p.mass, atol=1e-14, rtol=0)
    assert s.step == 1 and s.time == pytest.approx(p.dt)


# ----------------------------------------------------------------------------- 5. errors
def test_nan_force_and_blow_up_raise_with_step():
    p = HolsteinParams(g=0.0, gamma=0.1, kT=0.1)
    calls = {"n": 0}

    def nan_at_7(Q):  # call 0 is init; call k is step k
        F = elastic(Q, p)
        if calls["n"] == 7:
            F = F * float("nan")
        calls["n"] += 1
        return F

    s = dyn.init(torch.zeros(2, 4, 4), nan_at_7, p)
    with pytest.raises(RuntimeError, match=r"step 7\b.*non-finite"):
        dyn.run(s, nan_at_7, p, 20, progress=False)
    # an unstable (anti-harmonic) force: |Q| grows like e^{3t} and crosses max_abs
    unstable = lambda Q: 9.0 * Q
    s = dyn.init(torch.full((4, 4), 0.1), unstable, p)
    with pytest.raises(RuntimeError, match=r"step \d+.*max_abs"):
        dyn.run(s, unstable, p, 1000, max_abs=100.0, progress=False)


def test_deferred_health_check_reports_the_interval_and_changes_nothing_else():
    """check_every > 1 (the GPU default) reads the accumulated health flag once per interval: a
    NaN at step 7 is reported as 'a step in (5, 10]', and a healthy run is bit-for-bit the same."""
    p = HolsteinParams(g=0.0, gamma=0.1, kT=0.1)
    calls = {"n": 0}

    def nan_at_7(Q):
        F = elastic(Q, p) * (float("nan") if calls["n"] == 7 else 1.0)
        calls["n"] += 1
        return F

    s = dyn.init(torch.zeros(2, 4, 4), nan_at_7, p)
    with pytest.raises(RuntimeError, match=r"a step in \(5, 10\].*non-finite"):
        dyn.run(s, nan_at_7, p, 20, check_every=5, progress=False)
    f = harmonic(p)
    s = dyn.init(torch.randn(3, 4, 4, dtype=torch.float64), f, p, seed=4)
    a = dyn.run(s, f, p, 23, record_every=4, progress=False)
    b = dyn.run(s, f, p, 23, record_every=4, check_every=7, progress=False)
    assert torch.equal(a[0].Q, b[0].Q) and torch.equal(a[1].Q, b[1].Q)
    with pytest.raises(ValueError, match="check_every"):
        dyn.run(s, f, p, 5, check_every=0, progress=False)


def test_bad_inputs_raise_value_error():
    p = HolsteinParams(g=0.0)
    f = harmonic(p)
    Q = torch.zeros(2, 4, 4)
    with pytest.raises(ValueError, match="V0"):
        dyn.init(Q, f, p, V0=torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="seed"):
        dyn.init(Q, f, p, seed=[1, 2, 3])
    with pytest.raises(ValueError, match="shape"):
        dyn.init(Q, lambda Q: Q[0], p)
    with pytest.raises(ValueError):
        dyn.init(torch.zeros(3, 3), f, p)  # odd L
    with pytest.raises(ValueError, match="non-finite|NaN"):
        dyn.init(Q, lambda Q: Q * float("nan"), p)
    s = dyn.init(Q, f, p)
    with pytest.raises(ValueError, match="scheme"):
        dyn.step(s, f, p, scheme="euler")
    with pytest.raises(ValueError, match="scheme"):
        dyn.run(s, f, p, 5, scheme="leapfrog", progress=False)
    with pytest.raises(ValueError, match="fields"):
        dyn.run(s, f, p, 5, fields=("P",), progress=False)
    with pytest.raises(ValueError, match="n_steps"):
        dyn.run(s, f, p, -1, progress=False)
    with pytest.raises(ValueError, match="q_std"):
        dyn.hot_start(4, p.replace(kappa=0.0))
