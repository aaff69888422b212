"""Tests of holstein.bench: the timer and memory helpers, the ED benchmark, the KPM script.

Timings are only checked against wide physical brackets (a sleep, a cost exponent), never tightly.
The speed benchmark is tested in test_bench_speed.py.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

from holstein import bench


# ----------------------------------------------------------------------------- timing
def test_measure_times_a_known_sleep():
    r = bench.measure(lambda: time.sleep(0.02), repeats=3)
    assert 0.019 < r["t_min_s"] <= r["t_s"] < 0.2 and r["n"] == 3


def test_measure_calls_and_budget():
    calls = []

    def fn():
        calls.append(1)

    assert bench.measure(fn, repeats=4)["n"] == 4 and len(calls) == 5  # one warm-up call
    calls.clear()
    assert bench.measure(fn, repeats=4, warmup=False)["n"] == 4 and len(calls) == 4
    calls.clear()
    bench.measure(fn, repeats=4, t_warm=1.0)  # warm-up time known: no warm-up call
    assert len(calls) == 4
    calls.clear()
    r = bench.measure(fn, repeats=4, t_warm=1.0, memory=True)  # memory is measured on a warm-up call
    assert len(calls) == 5 and "mem_peak_bytes" in r and "mem_rss_peak_increase_bytes" in r
    # a budget of 2.5 warm-up times allows 2 timed calls; a tiny budget still makes one
    assert bench.measure(fn, repeats=10, budget_s=2.5, t_warm=1.0)["n"] == 2
    assert bench.measure(fn, repeats=10, budget_s=0.0)["n"] == 1
    slow = bench.measure(lambda: time.sleep(0.05), repeats=50, budget_s=0.1)
    assert 1 <= slow["n"] <= 2


def test_peak_memory_counts_tensors():
    peak = bench.peak_memory(lambda: torch.ones(1_000_000, dtype=torch.float64) * 2)
    assert peak >= 8_000_000


def test_machine_info():
    info = bench.machine_info()
    assert info["device"] == "cpu" and info["threads"] == torch.get_num_threads() and info["torch"] == torch.__version__
    assert len(info["loadavg"]) == 3 and all(x >= 0 for x in info["loadavg"])


def test_measure_interleaved_alternates_and_reports_the_minimum():
    calls, clock = [], iter(range(100))

    def fn(name, cost):
        def call():
            calls.append(name)
            if name == "slow":
                time.sleep(cost[next(clock) % len(cost)])
        return call

    out = bench.measure_interleaved({"fast": fn("fast", [0]), "slow": fn("slow", [0.02, 0.002, 0.02])}, repeats=3)
    assert calls == ["fast", "slow"] + ["fast", "slow"] * 3  # a warm-up each, then interleaved rounds
    assert out["slow"]["n"] == 3 and 0.002 <= out["slow"]["t_min_s"] < 0.015 <= out["slow"]["t_s"]
    assert out["fast"]["t_min_s"] < out["slow"]["t_min_s"]
    with pytest.raises(ValueError):
        bench.measure_interleaved({}, repeats=3)


# ----------------------------------------------------------------------------- cost exponent
def test_cost_exponent():
    N = np.array([64, 256, 1024])
    b, err = bench.cost_exponent(N, 1e-9 * N ** 3.0)
    assert b == pytest.approx(3.0) and err == pytest.approx(0.0, abs=1e-9)
    b, err = bench.cost_exponent(N[:2], N[:2] * 2.0)
    assert b == pytest.approx(1.0) and np.isnan(err)
    b, err = bench.cost_exponent(N, 1e-6 * N * np.array([1.0, 1.1, 0.9]))
    assert b == pytest.approx(np.polyfit(np.log(N), np.log(1e-6 * N * [1.0, 1.1, 0.9]), 1)[0]) and err > 0
    with pytest.raises(ValueError):
        bench.cost_exponent([4], [1.0])


# ----------------------------------------------------------------------------- ED benchmark
def test_bench_ed_eigh_cost_grows_like_a_power_of_N(tmp_path):
    """eigh of an N×N matrix costs O(N³); at these small N overheads lower the measured exponent."""
    from holstein.files import write_json

    res = bench.bench_ed(Ls=(12, 16, 20, 24), repeats=3, progress=False)
    rows = res["results"]
    assert [r["N"] for r in rows] == [144, 256, 400, 576]
    b, err = bench.cost_exponent([r["N"] for r in rows], [r["t_eigh_s"] for r in rows])
    assert 1.5 < b < 4, (b, err)
    # the ED force is one eigh plus more work
    assert all(r["ratio"] > 0.8 and r["ratio"] == pytest.approx(r["t_ed_forces_s"] / r["t_eigh_s"]) for r in rows)
    assert all(r["t_eigh_s"] <= r["t_eigh_median_s"] and r["t_ed_forces_s"] <= r["t_ed_forces_median_s"] for r in rows)
    path = write_json(res, tmp_path / "ed.json")
    assert json.loads(path.read_text())["benchmark"] == "ed_forces_vs_eigh"


# ----------------------------------------------------------------------------- KPM script
def test_kpm_script_runs_as_a_module():
    """`python -m holstein.bench.kpm` is a script of its own (the package does not import it first)."""
    out = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "holstein.bench.kpm", "--help"],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    assert "--out" in out.stdout and "--large-reference" in out.stdout


def test_kpm_script_time_forces():
    from holstein.bench.kpm import quench_like, time_forces
    from holstein.params import PAPER

    r = time_forces(quench_like(8, PAPER, "stripes"), PAPER, repeats=2, label="x", probe_distance=4, tol=1e-3)
    assert r["L"] == 8 and r["repeats"] == 2 and 0 < r["seconds"] < 60 and r["n_moments"] > 0
