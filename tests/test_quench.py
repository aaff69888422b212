"""Tests of holstein.quench: the engine (segmented, resumable, extendable runs), the store (identity,
verified reads, merge) and the analysis (α, collapse, paired tests)."""
import json

import numpy as np
import pytest
import torch

from holstein import dynamics, observables, quench
from holstein.forces import elastic
from holstein.params import PAPER

L, SEEDS = 8, [3, 5]


def _force(Q):
    # a cheap local force with a checkerboard instability (deterministic, so resumes are exact)
    return elastic(Q, PAPER) + 1.5 * torch.tanh(Q)


def _toy(L_, steps, every, kT, seeds, out, force=_force, force_id="toy", **kw):
    """The engine at kT with a toy force, writing ``out/kT<kT>.npz``."""
    return quench.run(force, L_, seeds, PAPER.replace(kT=kT), steps, every, quench.run_path(out, kT),
                      force_id=force_id, progress=False, **kw)


def _run(out, steps=60, every=10, checkpoint_every=20, force=_force, **kw):
    return _toy(L, steps, every, 0.1, SEEDS, out, force=force, checkpoint_every=checkpoint_every, **kw)


def _reference(steps, every):
    """The same quench in one dynamics.run, and its compact observables."""
    hot, noise = dynamics.matched_seeds(SEEDS)
    Q0, V0 = dynamics.hot_start(L, PAPER, seed=hot, batch=2)
    state = dynamics.init(Q0, _force, PAPER, V0=V0, seed=noise)
    _, traj = dynamics.run(state, _force, PAPER, n_steps=steps, record_every=every, progress=False)
    return traj, quench.compact_observables(traj.time.numpy(), traj.Q.numpy(), L)


def test_segmented_run_equals_one_uninterrupted_run(tmp_path):
    ident, res = _run(tmp_path)
    traj, ref = _reference(60, 10)
    np.testing.assert_array_equal(res["step"], traj.step.numpy())
    np.testing.assert_allclose(res["time"], traj.time.numpy(), rtol=0, atol=0)
    for k in ("m", "phi2", "L", "S_pipi"):
        np.testing.assert_array_equal(res[k], ref[k])
    np.testing.assert_array_equal(res["C"], ref["C"].astype(np.float32))
    state = torch.load(tmp_path / "kT0.1.state.pt", weights_only=True)
    np.testing.assert_array_equal(state["Q"].numpy(), traj.Q[-1].numpy())
    assert ident["seeds"] == SEEDS and ident["force"] == "toy" and not (tmp_path / "kT0.1.ckpt").exists()


def test_phi_maps_are_float16_local_order_at_recorded_steps(tmp_path):
    _, res = _run(tmp_path, phi_steps=[10, 31, 60], phi_replicas=1)
    traj, _ = _reference(60, 10)
    np.testing.assert_array_equal(res["phi_step"], [10, 30, 60])
    assert res["phi"].dtype == np.float16 and res["phi"].shape == (3, 1, L, L)
    from holstein.observables import local_cdw
    np.testing.assert_allclose(res["phi"][1, 0], local_cdw(traj.Q[3, :1].numpy())[0], rtol=1e-3, atol=1e-3)


def _interrupt_after(path, calls_allowed: int) -> None:
    """Run ``_run`` at ``path`` with a force that raises KeyboardInterrupt after ``calls_allowed`` calls."""
    calls = {"n": 0}

    def dies(Q):
        calls["n"] += 1
        if calls["n"] > calls_allowed:
            raise KeyboardInterrupt
        return _force(Q)

    with pytest.raises(KeyboardInterrupt):
        _run(path, force=dies)


def test_interrupted_run_resumes_bit_for_bit(tmp_path):
    _interrupt_after(tmp_path / "a", 35)
    assert (tmp_path / "a" / "kT0.1.ckpt").exists() and not (tmp_path / "a" / "kT0.1.npz").exists()
    _, res = _run(tmp_path / "a")
    _, ref = _run(tmp_path / "b")
    for k in ("m", "C", "L", "S", "step", "phi"):
        np.testing.assert_array_equal(res[k], ref[k])


def test_extension_equals_the_longer_run(tmp_path):
    _run(tmp_path / "a", steps=40)
    _, ext = _run(tmp_path / "a", steps=80)
    _, ref = _run(tmp_path / "b", steps=80)
    for k in ("m", "C", "L", "step"):
        np.testing.assert_array_equal(ext[k], ref[k])
    # a finished run of at least as many steps is returned without running
    _, same = _run(tmp_path / "a", steps=60, force=lambda Q: 1 / 0)
    assert same["step"][-1] == 80


def test_another_identity_is_refused_naming_the_field(tmp_path):
    _run(tmp_path, steps=20)
    with pytest.raises(ValueError, match=r"another run \(force: toy there, another force here\)"):
        _toy(L, 40, 10, 0.1, SEEDS, tmp_path, force_id="another force", checkpoint_every=20)
    with pytest.raises(ValueError, match=r"seeds: \[3, 5\] there, \[3, 6\] here"):
        _toy(L, 40, 10, 0.1, [3, 6], tmp_path)


def test_unaligned_lengths_record_every_multiple_and_the_last_step(tmp_path):
    # steps not a multiple of every, checkpoints not on the recorded steps: the recorded steps are
    # the multiples of every and the final one, and the numbers those of one uninterrupted run
    _, res = _run(tmp_path / "a", steps=25, checkpoint_every=7)
    assert res["step"].tolist() == [0, 10, 20, 25]
    traj, ref = _reference(25, 10)
    np.testing.assert_array_equal(res["m"], ref["m"])


@pytest.mark.parametrize("kw", [dict(checkpoint_every=0), dict(steps=-1)])
def test_bad_sizes_are_errors(tmp_path, kw):
    args = dict(steps=60, every=10, checkpoint_every=20) | kw
    with pytest.raises(ValueError):
        _run(tmp_path, **args)


def test_a_run_with_files_needs_a_fingerprint(tmp_path):
    with pytest.raises(ValueError, match="fingerprint"):
        quench.run(_force, L, SEEDS, PAPER, 20, 10, tmp_path / "x.npz", progress=False)


def test_damaged_files_are_one_line_errors_naming_the_file(tmp_path):
    _run(tmp_path, steps=20)
    res, state, ckpt = quench.files(tmp_path / "kT0.1.npz")
    state.write_bytes(state.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"kT0\.1\.state\.pt is not a readable final state"):
        _run(tmp_path, steps=40)
    res.write_bytes(res.read_bytes()[:300])
    with pytest.raises(ValueError, match=r"kT0\.1\.npz is not a readable quench result"):
        _run(tmp_path, steps=40)
    ckpt.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"kT0\.1\.ckpt is not a readable run checkpoint"):
        _run(tmp_path, steps=40)
    other = tmp_path / "data.npz"
    np.savez(other, Q=np.zeros(3))
    with pytest.raises(ValueError, match="not a quench result"):
        quench.load(other)


def test_a_blow_up_keeps_every_record_up_to_it(tmp_path):
    # dt = 5 blows up within a few steps: the records before it are kept (after the last checkpoint too)
    p = PAPER.replace(kT=0.1, dt=4.0)
    with pytest.raises(dynamics.BlowUpError) as e:
        quench.run(_force, L, SEEDS, p, 400, 1, tmp_path / "b.npz", force_id="toy", checkpoint_every=1000,
                   progress=False)
    ident, res = quench.load(tmp_path / "b.npz")
    assert not bool(res["complete"]) and res["step"].tolist() == list(range(len(res["step"])))
    assert len(res["step"]) > 1 and e.value.result[1]["step"].tolist() == res["step"].tolist()
    assert not quench.files(tmp_path / "b.npz")[2].exists()
    again = quench.run(_force, L, SEEDS, p, 400, 1, tmp_path / "b.npz", force_id="toy", progress=False)
    assert not bool(again[1]["complete"])  # deterministic: returned as it is, still marked incomplete


def test_default_phi_steps_hold_the_reference_times():
    s = quench.default_phi_steps(25000, 100)
    assert 600 in s and 20000 in s and s[0] == 100 and s[-1] == 25000 and all(x % 100 == 0 for x in s)
    assert len(s) >= 8


def _synthetic(alpha, B=4, T=60, L_sys=400, scaling=True, seed=0):
    """Compact observables with C_b(r, t) = 2^(-r / L_b(t)) (so C = 1/2 exactly at L_b) and
    L_b(t) = A_b t^alpha; scaling=False adds a time-dependent shape."""
    rng = np.random.default_rng(seed)
    time = np.geomspace(1, 1000, T)
    r = np.arange(0, 100, 1.0)
    A = 2 * (1 + 0.05 * rng.standard_normal(B))
    Lt = A[None, :] * time[:, None] ** alpha                                # (T, B)
    x = r[None, None, :] / Lt[..., None]
    C = 2.0 ** (-x)
    if not scaling:
        C = C * (1 + 0.3 * np.log10(time)[:, None, None] * np.sin(np.pi * np.minimum(x, 1))) / 1
    return dict(time=time, step=np.arange(T), r=r, C=C, phi2=np.ones((T, B)), L_sys=np.int64(L_sys),
                m=np.zeros((T, B)), L=Lt, S=np.zeros((T, B, 3)), S_pipi=np.zeros((T, B)), k=np.arange(3.0))


def test_analysis_recovers_a_known_exponent_and_perfect_scaling():
    row = quench.analyse({0.1: _synthetic(0.3)})[0.1]
    assert row["alpha"] == pytest.approx(0.3, abs=0.01)
    assert row["n_replicas"] == 4 and np.isfinite(row["alpha_err_jackknife"])
    assert row["growth_factor"] == pytest.approx((row["t_max"] / row["t_min"]) ** 0.3, rel=0.05)
    assert all(a == pytest.approx(0.3, abs=0.02) for a in row["alpha_window"].values())
    assert row["collapse"] < 0.01
    json.dumps(row)  # plain numbers


def test_collapse_measure_sees_a_violation_of_scaling():
    good = quench.analyse({0.1: _synthetic(0.3)})[0.1]["collapse"]
    bad = quench.analyse({0.1: _synthetic(0.3, scaling=False)})[0.1]["collapse"]
    assert bad > 10 * max(good, 1e-3)


def test_collapse_spread_checks_its_input():
    r = np.arange(10.0)
    with pytest.raises(ValueError):
        quench.collapse_spread(r, np.ones((2, 10)), [1.0, np.nan])
    with pytest.raises(ValueError):
        quench.collapse_spread(r, np.ones((2, 9)), [1.0, 2.0])
    assert quench.collapse_spread(r, np.stack([2.0 ** (-r / 2), 2.0 ** (-r / 3)]), [2.0, 3.0]) < 1e-2


def test_paired_differences_of_a_run_with_itself_vanish_and_see_a_changed_force(tmp_path):
    a = _run(tmp_path / "a", steps=40)
    d = quench.paired_differences(a, a)
    assert d["n"] == 2 and np.all(d["dC"] == 0) and np.all(d["dm"] == 0)
    stiffer = lambda Q: _force(Q) - 0.3 * Q  # noqa: E731
    b = _run(tmp_path / "b", steps=40, force=stiffer)
    d = quench.paired_differences(b, a, steps=[20, 40])
    assert d["dC"].shape == (2, a[1]["r"].size) and np.all(np.isfinite(d["dC_se"]))
    assert np.abs(d["dm"]).max() > 0


def test_paired_differences_are_the_mean_and_standard_error_over_replicas():
    ident = dict(seeds=[0, 1, 2], L=8, every=10)
    base = dict(step=np.array([0, 10]), r=np.arange(3.0), m=np.zeros((2, 3)), L=np.zeros((2, 3)),
                C=np.zeros((2, 3, 3)))
    shifted = dict(base, C=base["C"] + np.array([0.1, 0.2, 0.3])[None, :, None])
    d = quench.paired_differences((ident, shifted), (ident, base))
    np.testing.assert_allclose(d["dC"], 0.2)
    np.testing.assert_allclose(d["dC_se"], 0.1 / np.sqrt(3))
    with pytest.raises(ValueError, match="not paired"):
        quench.paired_differences((ident, shifted), (dict(ident, seeds=[0, 1, 3]), base))
    with pytest.raises(ValueError, match="not recorded"):
        quench.paired_differences((ident, shifted), (ident, base), steps=[5])


def test_paired_test_passes_noise_and_fails_a_bias():
    rng = np.random.default_rng(0)
    ident = dict(seeds=list(range(16)), L=8, every=10)
    r = np.arange(8.0)
    base = dict(step=np.array([0, 10]), r=r, m=np.zeros((2, 16)), L=np.zeros((2, 16)), C=np.zeros((2, 16, 8)))
    noisy = dict(base, C=1e-3 * rng.standard_normal((2, 16, 8)))
    [row] = quench.paired_test(quench.paired_differences((ident, noisy), (ident, base)), [10])
    assert row["sharp"] and row["max_zse"] < 0.01 and row["consistent"] == (row["worst"] <= 1)
    assert row["replicas_for_tol"] == int(np.ceil(16 * (row["max_zse"] / 0.01) ** 2)) <= 16
    biased = dict(noisy, C=noisy["C"] + 0.01 * (r < 3))  # a real difference at short range
    [row] = quench.paired_test(quench.paired_differences((ident, biased), (ident, base)), [10])
    assert not row["consistent"] and row["max_dC"] > 0.009 and row["worst"] > 10
    far = dict(noisy, C=noisy["C"] + 0.01 * (r > 6))     # beyond r_max = 6: not tested
    assert quench.paired_test(quench.paired_differences((ident, far), (ident, base)), [10])[0]["max_dC"] < 0.005
    with pytest.raises(ValueError, match="not among"):
        quench.paired_test(quench.paired_differences((ident, noisy), (ident, base)), [5])


def test_default_checkpoint_interval_is_a_multiple_of_every(tmp_path):
    # e.g. the book profile records every 400 steps: checkpoints every 800, not the invalid 1000
    ident, res = _toy(L, 800, 400, 0.1, SEEDS, tmp_path)
    assert res["step"].tolist() == [0, 400, 800]


def test_committed_runs_are_found_for_every_temperature(tmp_path, monkeypatch):
    # recipes.coarsening_runs loads the committed kT<kT>.npz of each temperature instead of running;
    # "kT0.05" and "kT0.1" must not collapse to one "kT0.npz"
    from holstein import catalog, profiles, recipes

    for kT in (0.05, 0.1):
        _toy(L, 20, 10, kT, SEEDS, tmp_path, force_id=f"toy {kT}")
    monkeypatch.setattr(catalog, "COARSENING", tmp_path)
    monkeypatch.setattr(quench, "run", lambda *a, **k: pytest.fail("ran instead of loading"))
    runs = recipes.coarsening_runs(profiles.get_profile("ci").replace(temperatures=(0.05, 0.1)))
    assert {kT: ident["force"] for kT, (ident, _) in runs.items()} == {0.05: "toy 0.05", 0.1: "toy 0.1"}
    assert quench.run_path(tmp_path, 0.1).name == "kT0.1.npz"


def test_committed_fresh_quenches_are_loaded_ed_first_and_must_be_the_profiles(tmp_path, monkeypatch):
    # chapter 7 reads recipes.fresh_quenches: the committed ED and model runs, never a run of other sizes
    from holstein import catalog, profiles, recipes

    prof = profiles.get_profile("ci").replace(fresh_committed=True, fresh_steps=20, fresh_every=10, fresh_replicas=2)
    seeds = range(prof.fresh_seed, prof.fresh_seed + 2)
    for name in ("a_model", "ed"):
        _toy(L, 20, 10, 0.1, list(seeds), tmp_path / f"L{prof.L_ed}" / name, force_id=f"toy {name}")
    monkeypatch.setattr(catalog, "ED_VS_ML", tmp_path)
    monkeypatch.setattr(quench, "run", lambda *a, **k: pytest.fail("ran instead of loading"))
    runs = recipes.fresh_quenches(prof)
    assert list(runs) == ["ed", "a_model"] and runs["ed"][0]["force"] == "toy ed"
    with pytest.raises(ValueError, match="not the profile's"):
        recipes.fresh_quenches(prof.replace(fresh_steps=40))


def test_merged_runs_equal_the_run_of_all_their_seeds(tmp_path, capsys):
    """Replica b of a batch is the unbatched quench of its seed, so runs of seeds [3] and [5]
    merge into the run of [3, 5]; runs of another force or sharing a seed do not merge."""
    whole = _run(tmp_path / "whole")
    a = _toy(L, 60, 10, 0.1, [3], tmp_path / "a", checkpoint_every=20)
    b = _toy(L, 40, 10, 0.1, [5], tmp_path / "b", checkpoint_every=20)
    ident, res = quench.merge([a, b], tmp_path / "m.npz", command="merge a b")
    assert ident["seeds"] == SEEDS and res["command"] == "merge a b" and list(res["step"]) == [0, 10, 20, 30, 40]
    for k in ("m", "C", "L", "S_pipi"):
        np.testing.assert_array_equal(res[k], whole[1][k][:5])
    assert len(res["part_commands"]) == 2 and res["wall_s"] == pytest.approx(a[1]["wall_s"] + b[1]["wall_s"])
    d = quench.paired_differences((ident, res), (whole[0], whole[1]), steps=[40])
    assert np.all(d["dC"] == 0)
    with pytest.raises(ValueError, match="share seeds"):
        quench.merge([a, a])
    other = _toy(L, 40, 10, 0.1, [7], tmp_path / "o", force=lambda Q: _force(Q) - 0.3 * Q, force_id="stiffer",
                 checkpoint_every=20)
    with pytest.raises(ValueError, match="force"):
        quench.merge([a, other])
    from holstein.cli import main
    assert main(["coarsen", "--merge", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "cli")]) == 0
    back = quench.load(tmp_path / "cli" / "kT0.1.npz")
    assert back[0]["seeds"] == SEEDS and "--merge" in back[1]["command"]
    assert main(["coarsen", "--merge", str(tmp_path / "a"), str(tmp_path / "o")]) == 2  # no --out


def test_ctrl_c_checkpoints_the_current_step_and_the_rerun_is_bit_for_bit(tmp_path):
    """Ctrl-C inside a step (SIGINT to this process): the driver finishes the step and raises
    dynamics.Interrupted; the engine checkpoints that (unrecorded) step and the rerun equals the
    uninterrupted run, also on the recorded steps after it."""
    import os
    import signal

    calls = {"n": 0}

    def interrupted_once(Q):
        calls["n"] += 1
        if calls["n"] == 24:
            os.kill(os.getpid(), signal.SIGINT)
        return _force(Q)

    with pytest.raises(KeyboardInterrupt, match="stopped at step 23 of 60"):
        _run(tmp_path / "a", force=interrupted_once, checkpoint_every=40)
    state, acc = quench.store.read_checkpoint(tmp_path / "a" / "kT0.1.npz")
    assert state["step"] == 23 and acc["step"] == [0, 10, 20]
    _, res = _run(tmp_path / "a", checkpoint_every=40)
    _, ref = _run(tmp_path / "b", checkpoint_every=40)
    for k in ("m", "C", "L", "S", "step"):
        np.testing.assert_array_equal(res[k], ref[k])


def test_batched_and_unbatched_starts():
    # an int seed is the unbatched run; replica b of a batch is the unbatched run of seeds[b]
    one = quench.start(_force, L, 5, PAPER)
    batch = quench.start(_force, L, [3, 5], PAPER)
    assert one.Q.shape == (L, L) and batch.Q.shape == (2, L, L)
    assert torch.equal(batch.Q[1], one.Q) and torch.equal(batch.V[1], one.V)
    with pytest.raises(ValueError, match="distinct"):
        quench.start(_force, L, [3, 3], PAPER)


def test_the_committed_200x200_runs_reproduce_their_analysis():
    """The committed coarsening runs load through the store and give their committed analysis.json
    (α, jackknife errors, growth factors, window sensitivity, collapse) to 1e-12: bit for bit on the
    machine that wrote it, the last bit of a least-squares fit can differ on another CPU or numpy."""
    from holstein import catalog, recipes

    committed = json.loads((catalog.COARSENING / "analysis.json").read_text())["results"]
    runs = {float(kT): quench.load(quench.run_path(catalog.COARSENING, float(kT)))[1] for kT in committed}
    again = quench.jsonable(quench.analyse(runs))

    def flat(d, pre=""):
        return {k: v for key, val in d.items()
                for k, v in (flat(val, f"{pre}/{key}") if isinstance(val, dict) else {f"{pre}/{key}": val}).items()}

    assert flat(again) == pytest.approx(flat(committed), rel=1e-12, abs=0)


# ----------------------------------------------------------------------------- compact observables
def test_compact_observables_of_a_perfect_checkerboard():
    Q0, T, B, n = 0.7, 3, 2, 8
    stag = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
    Q = np.stack([np.stack([Q0 * stag, -Q0 * stag + 0.3])] * T)  # replica 1: the other phase, shifted
    c = quench.compact_observables(np.arange(T) * 2.0, Q, n)
    np.testing.assert_allclose(c["m"], Q0, rtol=1e-12)
    np.testing.assert_allclose(c["C"], 1.0, rtol=1e-12)             # one domain: C ≡ 1 on every shell
    assert c["r"][0] == 0 and np.all(np.isnan(c["L"]))              # C never crosses 1/2
    np.testing.assert_allclose(c["S_pipi"], n * n * Q0 ** 2, rtol=1e-12)
    assert c["k"][0] == 0
    np.testing.assert_allclose(c["S"][..., 0], n * n * Q0 ** 2, rtol=1e-12)  # peak at k = |q - (π, π)| = 0
    np.testing.assert_allclose(c["S"][..., 1:], 0.0, atol=1e-12)
    rec = quench.Recorder(every=1, phi_steps=(0, 2))   # the φ maps, chosen by step
    acc = rec.new()
    rec.observe(acc, [0, 1, 2], Q, dt=2.0)
    res = rec.result(acc)
    np.testing.assert_array_equal(res["phi_step"], [0, 2])
    assert res["phi"].dtype == np.float16 and res["phi"].shape == (2, B, n, n)
    np.testing.assert_allclose(res["phi"][:, 0].astype(float), Q0, rtol=1e-3)
    np.testing.assert_allclose(res["phi"][:, 1].astype(float), -Q0, rtol=1e-3)
    assert res["C"].dtype == np.float32 and "Q" not in res
    one = quench.compact_observables(np.arange(T) * 2.0, Q[:, 0], n)   # (T, L, L): B = 1 kept
    assert one["C"].shape == (T, 1, c["r"].size)


def test_compact_observables_agree_with_the_ensemble_functions():
    rng = np.random.default_rng(0)
    n, T, B = 8, 4, 3
    stag = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
    Q = rng.normal(size=(T, B, n, n)) + stag * np.where(np.arange(n)[:, None] < n // 2, 1.0, -1.0)
    c = quench.compact_observables(np.arange(T), Q, n)
    C_ens = np.stack([observables.correlation(q, average_batch=True, dr=1.0)[1] for q in Q])  # the ensemble C
    np.testing.assert_allclose(quench.ensemble_correlation(c), C_ens, rtol=0, atol=1e-13)
    for i in range(T):
        r, Cb = observables.correlation(Q[i], average_batch=False, dr=1.0)
        np.testing.assert_array_equal(c["C"][i], Cb)
        np.testing.assert_array_equal(c["L"][i], [observables.domain_size(r, x) for x in Cb])
    runs = [(dict(format=1, seeds=[b], force="x", params=dict(dt=1.0)), dict(quench.compact_observables(
        np.arange(T), Q[:, [b]], n), step=np.arange(T), phi_step=np.zeros(0, int), phi=np.zeros(0))) for b in range(B)]
    _, merged = quench.merge(runs)
    np.testing.assert_allclose(merged["C"], c["C"], atol=1e-14)
    np.testing.assert_allclose(merged["phi2"], c["phi2"], atol=1e-14)


def _power_law(alphas, A=1.5, L_sys=4000):
    """Compact observables whose replica b has C_b(r, t) = 2^(-r / L_b(t)), L_b = A t^α_b (C_b(L_b) = 1/2)."""
    t = np.geomspace(1, 1000, 25)
    r = np.linspace(0, 200, 20001)
    Lb = A * t[:, None] ** np.asarray(alphas)[None, :]                      # (T, B)
    C = 2.0 ** (-r[None, None, :] / Lb[..., None])
    return dict(time=t, r=r, C=C, phi2=np.ones_like(Lb), L_sys=L_sys)


def test_jackknife_alpha_of_a_synthetic_power_law():
    a = quench.growth_exponent(_power_law([0.4] * 4))
    assert abs(a["alpha"] - 0.4) < 1e-4 and a["n_points"] >= 8
    assert a["alpha_err_jackknife"] < 1e-4                                 # every replica has α = 0.4
    assert np.isnan(quench.growth_exponent(_power_law([0.4]))["alpha_err_jackknife"])  # B = 1
    comp = _power_law([0.3, 0.5, 0.35, 0.45])
    a = quench.growth_exponent(comp)
    assert 0.3 < a["alpha"] < 0.5
    loo = []
    for b in range(4):
        sub = dict(comp, C=np.delete(comp["C"], b, axis=1), phi2=np.delete(comp["phi2"], b, axis=1))
        loo.append(quench.growth_exponent(sub, t_min=a["t_min"], t_max=a["t_max"])["alpha"])
    loo = np.array(loo)
    assert a["alpha_err_jackknife"] == pytest.approx(np.sqrt(3 / 4 * np.sum((loo - loo.mean()) ** 2)), rel=1e-12)
    assert a["alpha_err_jackknife"] > 0.02


def test_a_series_made_at_the_ci_size_uses_ed_where_the_model_is_refused(capsys):
    """A T-blind model is valid at its training kT only: chapter 8's series at the ci size (three
    temperatures, L_large = 16) runs ED at every temperature instead of a silent or refused model;
    where ED does not fit (the paper's 200x200), the model runs at the temperatures it is valid for."""
    from holstein import catalog, profiles, recipes

    ci = profiles.get_profile("ci")
    blind = "gcn_lean_mu_L24_extra"
    forces, note = recipes.series_force(blind, ci, "cpu")
    assert sorted(forces) == sorted(ci.temperatures) and all(f.name == "ed" for f in forces.values())
    assert "kT=0.05 was asked for" in note
    big = ci.replace(L_large=200)
    forces, note = recipes.series_force(blind, big, "cpu")
    assert list(forces) == [0.1] and forces[0.1].name != "ed" and "only" in note
    # the temperature-aware model (today's best on quench snapshots) is valid at every temperature
    forces, note = recipes.series_force("gcn_lean_mu_T", big, "cpu")
    assert note is None and sorted(forces) == sorted(ci.temperatures)
    assert all(f.temperature_aware and f.params.kT == kT for kT, f in forces.items())


def test_a_checkpoint_of_the_old_experiment_runner_resumes(tmp_path):
    """holstein.experiment (87f4f47) wrote dict(identity, state, acc) without a version: a long coarsen
    run interrupted before the engine landed resumes from it, bit for bit."""
    _interrupt_after(tmp_path / "a", 35)
    ckpt = tmp_path / "a" / "kT0.1.ckpt"
    ck = torch.load(ckpt, weights_only=False)
    acc = {k: v for k, v in ck["acc"].items() if k != "Q"}
    torch.save(dict(identity=ck["identity"], state=ck["state"], acc=acc), ckpt)  # the old layout
    _, res = _run(tmp_path / "a")
    _, ref = _run(tmp_path / "b")
    for k in ("m", "C", "L", "step"):
        np.testing.assert_array_equal(res[k], ref[k])


def test_notebook_quench_is_cached_by_the_force_fingerprint(tmp_path, monkeypatch):
    """notebook.quench keyed its cache by the model's name, so retrained weights reused a stale quench."""
    import shutil

    from holstein import catalog, notebook, recipes

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(catalog.ARTIFACTS / "models" / "gcn_lean_L24" / "best.pt", run / "best.pt")
    monkeypatch.setenv("HOLSTEIN_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(recipes, "trained_dir", lambda name, *a, **k: run)
    first = notebook.quench("gcn_lean", L=4, n_steps=4, every=2, progress=False)
    ck = torch.load(run / "best.pt", weights_only=False)
    key = next(k for k, v in ck["state_dict"].items() if v.is_floating_point())
    ck["state_dict"][key] = ck["state_dict"][key] + 0.1   # "retrained"
    torch.save(ck, run / "best.pt")
    second = notebook.quench("gcn_lean", L=4, n_steps=4, every=2, progress=False)
    assert len(list((tmp_path / "cache").glob("quench_gcn_lean_*.npz"))) == 2
    assert not np.array_equal(first["Q"][-1], second["Q"][-1]) and np.array_equal(first["Q"][0], second["Q"][0])


def test_an_ordered_start_is_the_checkerboard_and_enters_the_identity(tmp_path):
    from holstein import PAPER, ed, load_force, quench
    from holstein.lattice import SquareLattice

    p = PAPER.replace(kT=0.5)
    f = load_force("ed", p)
    state = quench.start(f, 4, [1, 2], p, ordered=3.0)
    np.testing.assert_array_equal(state.Q.numpy(), 3.0 * np.broadcast_to(SquareLattice(4).stagger, (2, 4, 4)))
    hot = quench.start(f, 4, [1, 2], p)
    torch.testing.assert_close(state.V, hot.V, rtol=0, atol=0)  # the seeds' velocities
    ident, res = quench.run(f, 4, [1, 2], p, 10, 5, tmp_path / "o.npz", ordered=3.0, progress=False)
    assert ident["start"] == dict(ordered=3.0) and res["m"][0].tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match="start"):
        quench.run(f, 4, [1, 2], p, 10, 5, tmp_path / "o.npz", progress=False)  # a hot start is another run


def _as_if_saved_on_cuda(path):
    """Rewrite a torch file so that its tensors' storages say 'cuda:0' (what a GPU run's files said)."""
    import zipfile
    with zipfile.ZipFile(path) as z:
        entries = [(i, z.read(i)) for i in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for info, data in entries:
            if info.filename.endswith("data.pkl"):
                cpu, cuda = b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"  # pickle protocol 2 strings
                assert cpu in data
                data = data.replace(cpu, cuda)
            z.writestr(info, data)


def test_a_checkpoint_written_on_a_gpu_resumes_on_a_cpu(tmp_path):
    """A GPU run stopped at its time limit is finished on a CPU: the checkpoint's tensors are read
    onto the CPU (not refused as CUDA storages), and the run equals the uninterrupted one."""
    import os
    import signal

    calls = {"n": 0}

    def interrupted_once(Q):
        calls["n"] += 1
        if calls["n"] == 45:
            os.kill(os.getpid(), signal.SIGINT)
        return _force(Q)

    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "a", force=interrupted_once, checkpoint_every=40)
    ckpt = quench.files(tmp_path / "a" / "kT0.1.npz")[2]
    _as_if_saved_on_cuda(ckpt)
    with pytest.raises(RuntimeError, match="CUDA"):  # the forged file is what a GPU wrote
        torch.load(ckpt, weights_only=False)
    _, res = _run(tmp_path / "a", checkpoint_every=40)
    _, ref = _run(tmp_path / "b")
    for k in ("m", "L", "C"):
        np.testing.assert_array_equal(res[k], ref[k])
