"""Tests of holstein.bench.speed and holstein.bench.reference: the reference approach, time_dynamics,
bench_speed and its defaults; the benchmark scripts gpu_check.py and step_L200.py at toy size.

Timings are only checked against wide physical brackets (a cost exponent), never tightly.
"""
import dataclasses
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from holstein import bench, dynamics, models
from holstein.models.cost import macs_per_site
from holstein.params import PAPER


# ----------------------------------------------------------------------------- reference approach
def _reference():
    from holstein.bench import reference

    return reference


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
    fn = stencil.as_force_fn()
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


@pytest.mark.slow
def test_reference_baseline_runs_standalone():
    out = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "holstein.bench.reference", "--L", "4",
                          "--repeats", "1", "--warmup", "0"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    assert "10,753,793 parameters" in out.stdout and "L=4" in out.stdout


# ----------------------------------------------------------------------------- speed benchmark
def test_time_dynamics_batched_structure():
    r = bench.time_dynamics(models.build("gcn_lean").as_force_fn(), 4, repeats=1, budget_s=0, batch=3)
    assert r["B"] == 3 and r["N"] == 16 and r["site_steps_per_s"] == pytest.approx(48 / r["t_step_s"])
    assert r["t_force_s"] > 0 and r["mem_peak_bytes"] > 0


def test_start_configuration_two_domains():
    Q, V = bench.start_configuration(8, PAPER, seed=1, batch=2)
    assert Q.shape == V.shape == (2, 8, 8) and Q.dtype == torch.float64
    from holstein.observables import local_cdw

    phi = local_cdw(Q).mean(axis=-1)  # (2, 8): one sign for x < L/2, the other for x >= L/2
    assert np.all(phi[:, :4] * phi[:, 4:].mean(axis=1, keepdims=True) < 0)


def test_lean_model_cost_is_linear_in_N():
    """The measured cost exponent of a local model (t_force ~ N^b over the three largest L, 32..128) is near 1,
    far from ED's 3. One thread and L >= 32, so that neither thread start-up nor per-call overhead (which
    gave 0.42 at L = 16..64 on a loaded machine) stands in for the per-site work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        res = bench.bench_speed(ed_Ls=(4,), Ls=(4, 32, 64, 128), models=("bp_mlp_lean",), kpm=False, repeats=5,
                                budget_s=0.5, scaling_Ls=(32, 128), reference_Ls=(), ed_vs_lean_L=None, ensemble_L=4,
                                ensemble_B=(1,), dtype_Ls=(), compile=False, progress=False)
    finally:
        torch.set_num_threads(threads)
    ce = res["cost_exponents"]
    assert set(ce) == {"bp_mlp_lean"} and ce["bp_mlp_lean"]["N"] == [1024, 4096, 16384]
    assert 0.5 < ce["bp_mlp_lean"]["exponent"] < 1.6, ce
    d = res["scaling"]["models"]["bp_mlp_lean"]
    assert d["ratio_force"] == pytest.approx(d["t_force_per_site_large_s"] / d["t_force_per_site_small_s"])


def test_speed_defaults_are_stated_once(capsys):
    """bench_speed's keyword defaults and the CLI help come from SPEED_FULL."""
    from holstein.cli import main

    sig = inspect.signature(bench.bench_speed).parameters
    full = bench.SPEED_FULL
    for f in dataclasses.fields(bench.SpeedSizes):
        if f.name != "max_L":  # max_L=None: the caps of SPEED_FULL, merged with those given
            assert sig[f.name].default == getattr(full, f.name), f.name
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for v in (full.models, full.ed_Ls, full.Ls, full.ensemble_B, full.reference_Ls, full.dtype_Ls):
        assert "default " + " ".join(map(str, v)) in text, v
    assert "default " + " ".join(f"{k}={v}" for k, v in full.max_L.items()) in text
    assert f"default {full.compile_L})" in text and f"default {full.ensemble_L})" in text


@pytest.mark.slow
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
    assert {("ed", L) for L in tiny.ed_Ls} <= got
    for name in tiny.models:
        cap = tiny.max_L.get(name)
        assert {(name, L) for L in tiny.Ls if cap is None or L <= cap} <= got, name
    assert res["methods"]["kpm"]["status"] in ("ok", "skipped")
    if res["methods"]["kpm"]["status"] == "ok":
        assert {("kpm", L) for L in tiny.Ls} <= got
    for name in ("gcn_lean", "gcn_lean_mu", "energy_gnn_lean", "bp_mlp_lean", "gcn"):
        m, info = models.build(name), res["methods"][name]
        linear = sum(l.in_features * l.out_features for l in m.modules() if isinstance(l, torch.nn.Linear))
        assert info["parameters"] == m.n_parameters() and info["macs_per_site"] == macs_per_site(m) > 0
        assert info["macs_per_site"] >= linear
        assert info["energy_based"] is m.energy_based
    assert res["methods"]["energy_gnn_lean"]["energy_based"] is True
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
        (d, B) for d in ("torch.float32", "torch.float64") for B in tiny.ensemble_B)
    assert {r["model"] for r in res["dtype"]} == {"gcn_lean", "gcn_lean_mu", "energy_gnn_lean", "bp_mlp_lean"}
    assert res["compile"]["status"] == "skipped"
    assert len(res["plots"]) == 2 and all(Path(p).stat().st_size > 0 for p in res["plots"])
    assert "wrote" in capsys.readouterr().out


def test_gpu_check_script_runs_on_the_cpu(tmp_path):
    """benchmarks/gpu_check.py (what benchmarks/gpu_check.sh runs on a GPU) at toy size on the CPU:
    it writes one row per (dtype, L, B) with a positive throughput."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    out = tmp_path / "g.json"
    r = subprocess.run([sys.executable, str(repo / "benchmarks/gpu_check.py"), "--out", str(out), "--device", "cpu",
                        "--Ls", "8", "--B", "1", "2", "--B-L", "8", "--repeats", "1"], capture_output=True, text=True,
                       timeout=300, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(out.read_text())
    assert [(row["L"], row["B"]) for row in res["results"]] == [(8, 1), (8, 2)] * 2
    assert all(row["site_steps_per_s"] > 0 for row in res["results"]) and res["device"] == "cpu"


def _step_L200(out, label, pre="pass"):
    """Run benchmarks/step_L200.py at toy size in a fresh interpreter that first runs ``pre``."""
    repo = Path(__file__).resolve().parents[1]
    argv = [str(repo / "benchmarks/step_L200.py"), "--out", str(out), "--L", "6", "--repeats", "1", "--threads", "1",
            "--gemm", "64", "--label", label]
    code = f"import runpy, sys; {pre}; sys.argv = {argv!r}; runpy.run_path(sys.argv[0], run_name='__main__')"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})


def test_step_L200_script_runs_with_and_without_load_force(tmp_path):
    """benchmarks/step_L200.py at toy size: one entry per --label in one file, each with the machine
    record; it also runs where holstein.force does not exist (an older checkout), loading the model
    as those checkouts did."""
    out = tmp_path / "s.json"
    r = _step_L200(out, "new")
    assert r.returncode == 0, r.stderr[-2000:]
    r = _step_L200(out, "old", "import holstein; sys.modules['holstein.force'] = None")  # import holstein.force fails
    assert r.returncode == 0, r.stderr[-2000:]
    res = json.loads(out.read_text())
    assert set(res) == {"new", "old"}
    new, old = res["new"]["results"][0]["force"], res["old"]["results"][0]["force"]
    assert new.startswith("model:gcn_lean_mu:") and new.endswith(":float32") and "before holstein.force" in old
    for entry in res.values():
        m = entry["machine"]
        assert len(m["loadavg_before"]) == len(m["loadavg_after"]) == 3 and m["cpu_count"] >= 1
        assert [row["model_dtype"] for row in entry["results"]] == ["float32", "float64"]
        assert all(0 < row["t_step_s"] <= row["t_step_median_s"] and row["t_force_s"] > 0 for row in entry["results"])
