"""Tests of holstein.bench (structure only: no timed asserts)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from holstein import bench, dynamics, models
from holstein.params import PAPER


def test_bench_models_structure(tmp_path):
    res = bench.bench_models(["gcn_lean", models.build("bp_mlp_lean")], Ls=(4, 6), repeats=1, ed_max_L=4,
                             max_L={"bp_mlp_lean": 4}, progress=False)
    assert set(res["models"]) == {"gcn_lean", "bp_mlp_lean"}
    assert res["models"]["gcn_lean"]["parameters"] == models.build("gcn_lean").n_parameters()
    got = {(r["model"], r["L"]) for r in res["results"]}
    assert got == {("gcn_lean", 4), ("gcn_lean", 6), ("bp_mlp_lean", 4), ("ed", 4)}
    assert all(r["t_s"] > 0 and r["N"] == r["L"] ** 2 for r in res["results"])
    path = bench.write_json(res, tmp_path / "models.json")
    assert json.loads(path.read_text())["benchmark"] == "force_evaluation"


def test_bench_models_energy_model_runs():
    res = bench.bench_models({"e": models.build("energy_gnn_lean")}, Ls=(4,), repeats=1, ed_max_L=0, progress=False)
    assert res["models"]["e"]["energy_based"] is True
    assert [r["model"] for r in res["results"]] == ["e"]


@pytest.mark.parametrize("name", models.available())
def test_model_flops_per_site_positive(name):
    lean = "lean" in name
    if not lean and name != "gcn":
        pytest.skip("building the huge reference models is slow; gcn covers them")
    m = models.build(name)
    f = bench.model_flops_per_site(m)
    assert isinstance(f, int) and f > 0
    linear = sum(l.in_features * l.out_features for l in m.modules() if isinstance(l, torch.nn.Linear))
    assert f >= linear


def test_cost_exponent():
    N = np.array([64, 256, 1024])
    b, err = bench.cost_exponent(N, 1e-9 * N ** 3.0)
    assert b == pytest.approx(3.0) and err == pytest.approx(0.0, abs=1e-9)
    b, err = bench.cost_exponent(N[:2], N[:2] * 2.0)
    assert b == pytest.approx(1.0) and np.isnan(err)
    with pytest.raises(ValueError):
        bench.cost_exponent([4], [1.0])


# ----------------------------------------------------------------------------- speed benchmark
def _reference():
    ref, where = bench._reference_module()
    assert ref is not None, where
    return ref


def _clone(gen):
    g = torch.Generator(device=gen.device)
    g.set_state(gen.get_state())
    return g


def test_reference_baseline_step_equals_vectorised_step():
    """The per-site-loop reference step (PyG GCN, numpy state) is dynamics.step with the same GCN."""
    ref = _reference()
    L, ch = 6, (1, 4, 8, 1)
    pyg = models.build("gcn", channels=ch, backend="pyg")
    with torch.no_grad():
        for w in pyg.parameters():  # nonzero biases too
            w.normal_(0.0, 0.5)
    stencil = models.build("gcn", channels=ch, backend="stencil")
    stencil.load_state_dict(pyg.state_dict())
    net = ref.ReferenceGCN(ch).double().load_from(pyg)
    fn = bench.force_function(stencil)
    Q0, V0 = bench.start_configuration(L, PAPER, seed=3)

    def reference(p, seed=0):
        return ref.ReferenceDynamics(net, L, Q0.reshape(-1).numpy(), V0.reshape(-1).numpy(), p=p, seed=seed)

    dyn = reference(PAPER)
    F0 = fn(Q0)
    np.testing.assert_allclose(dyn.force, F0.reshape(-1).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dyn.force, pyg(Q0).detach().reshape(-1).numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dyn.occ, (F0 + PAPER.k * Q0 + PAPER.kappa * sum(
        torch.roll(Q0, s, d) for s in (1, -1) for d in (0, 1))).reshape(-1).numpy() / PAPER.g + 0.5, atol=1e-12)

    # gamma = 0: deterministic velocity Verlet, two steps
    p0 = PAPER.replace(gamma=0.0)
    dyn, state = reference(p0), dynamics.init(Q0, fn, p0, V0=V0)
    for _ in range(2):
        state = dynamics.step(state, fn, p0)
        dyn.step()
    for a, b in ((dyn.Q, state.Q), (dyn.velocity, state.V), (dyn.force, state.F)):
        np.testing.assert_allclose(a, b.reshape(-1).numpy(), rtol=1e-12, atol=1e-12)

    # Langevin (gamma, kT > 0) with the same noise: the one (L, L) draw of the state's generator
    dyn, state = reference(PAPER), dynamics.init(Q0, fn, PAPER, V0=V0, seed=5)
    xi = torch.randn((L, L), generator=_clone(state.rng[0]), dtype=torch.float64)
    state = dynamics.step(state, fn, PAPER)
    dyn.step(noise=xi.reshape(-1).numpy())
    for a, b in ((dyn.Q, state.Q), (dyn.velocity, state.V), (dyn.force, state.F)):
        np.testing.assert_allclose(a, b.reshape(-1).numpy(), rtol=1e-12, atol=1e-12)
    assert not np.allclose(dyn.velocity, reference(p0).velocity)  # the noise did something


def test_reference_baseline_graph_and_parameters():
    ref = _reference()
    table = ref.neighbour_table(4)
    center, nbr = ref.find_edges(table)
    assert center.shape == (2, 16) and nbr.shape == (2, 64)
    lat_nbrs = {tuple(sorted(r[1:])) for r in table}
    from holstein.lattice import SquareLattice

    assert lat_nbrs == {tuple(sorted(n)) for n in SquareLattice(4).neighbours.tolist()}
    assert sum(w.numel() for w in ref.ReferenceGCN().parameters()) == 10_753_793


def test_reference_baseline_runs_standalone():
    script = Path(bench.__file__).resolve().parents[1] / "benchmarks" / "reference_baseline.py"
    out = subprocess.run([sys.executable, str(script), "--L", "4", "--repeats", "1", "--warmup", "0"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    assert "10,753,793 parameters" in out.stdout and "L=4" in out.stdout


def test_peak_memory_counts_tensors():
    peak = bench.peak_memory(lambda: torch.ones(1_000_000, dtype=torch.float64) * 2)
    assert peak >= 8_000_000


def test_time_dynamics_batched_structure():
    r = bench.time_dynamics(bench.force_function(models.build("gcn_lean")), 4, repeats=1, budget_s=0, batch=3)
    assert r["B"] == 3 and r["N"] == 16 and r["site_steps_per_s"] == pytest.approx(48 / r["t_step_s"])
    assert r["t_force_s"] > 0 and r["mem_peak_bytes"] > 0


def test_speed_tiny_end_to_end(tmp_path, capsys):
    """`python -m holstein bench speed --tiny` runs every part and writes the JSON and the plots."""
    from holstein.cli import main

    out = tmp_path / "speed.json"
    assert main(["bench", "speed", "--tiny", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    for key in ("machine", "params", "memory_method", "start", "methods", "results", "scaling", "cost_exponents",
                "reference", "ed_vs_lean", "ensemble", "dtype", "compile", "plots", "command"):
        assert key in res, key
    assert res["machine"]["device"] == "cpu" and "--tiny" in res["command"]
    tiny = bench.SPEED_TINY
    got = {(r["method"], r["L"]) for r in res["results"]}
    assert {("ed", L) for L in tiny["ed_Ls"]} <= got
    for name in bench.SPEED_MODELS:
        cap = tiny["max_L"].get(name)
        assert {(name, L) for L in tiny["Ls"] if cap is None or L <= cap} <= got, name
    assert res["methods"]["kpm"]["status"] in ("ok", "skipped")
    if res["methods"]["kpm"]["status"] == "ok":
        assert {("kpm", L) for L in tiny["Ls"]} <= got
    for r in res["results"]:
        assert r["N"] == r["L"] ** 2 and r["t_force_s"] > 0 and r["t_step_s"] > 0
        assert r["site_steps_per_s"] == pytest.approx(r["N"] / r["t_step_s"])
        assert r["mem_peak_bytes"] is None or r["mem_peak_bytes"] >= 0
    assert set(res["scaling"]["models"]) == {"gcn_lean", "gcn_lean_mu", "energy_gnn_lean", "bp_mlp_lean"}
    assert all(isinstance(d["within_20pct"], bool) and d["ratio_force"] > 0 for d in res["scaling"]["models"].values())
    ref = res["reference"]
    assert ref["status"] == "ok" and ref["results"][0]["parameters"] == 10_753_793
    assert all(r["speedup_float64"] > 0 and r["speedup_float32"] > 0 for r in ref["results"])
    assert res["ed_vs_lean"]["speedup_float64"] > 0
    assert sorted((r["dtype"], r["B"]) for r in res["ensemble"]["results"]) == sorted(
        (d, B) for d in ("torch.float32", "torch.float64") for B in tiny["ensemble_B"])
    assert {r["model"] for r in res["dtype"]} == {"gcn_lean", "gcn_lean_mu", "energy_gnn_lean", "bp_mlp_lean"}
    assert res["compile"]["status"] == "skipped"
    assert len(res["plots"]) == 2 and all(Path(p).stat().st_size > 0 for p in res["plots"])
    assert "wrote" in capsys.readouterr().out


def test_transfer_check_measures_against_kpm():
    """The large-lattice check on a tiny quench: ED-accurate KPM forces give ~0 error for ED itself."""
    from holstein import ed

    def wrong(Q):  # ED forces plus a known error of RMS exactly 0.1
        return ed.forces(Q, PAPER) + 0.1 * torch.ones_like(Q)

    fns = {"ed": lambda Q: ed.forces(Q, PAPER), "wrong": wrong}
    res = bench.transfer_check(fns, L=8, n_steps=4, every=2, driver="ed", kpm_kwargs=dict(probe_distance=8),
                               progress=False)
    assert [s["time"] for s in res["snapshots"]] == pytest.approx([0.1, 0.2])
    assert res["models"]["ed"]["all"]["rmse"] < 1e-3
    assert res["models"]["wrong"]["all"]["rmse"] == pytest.approx(0.1, abs=1e-3)
