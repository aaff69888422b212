"""Tests of holstein.bench: the timer, the machine record and memory helpers, the ED benchmark, the
KPM script, and that every benchmark result lives under one root.

Timings are only checked against wide physical brackets (a sleep, a cost exponent), never tightly.
The speed benchmark is tested in test_bench_speed.py.
"""
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

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
    assert info["cpu_count"] == os.cpu_count() and "loadavg_after" not in info and "loadavg" not in info
    assert len(info["loadavg_before"]) == 3 and all(x >= 0 for x in info["loadavg_before"])


def test_machine_record_fills_the_load_after_the_block():
    with bench.machine_record() as machine:
        assert set(machine) == set(bench.machine_info()) and "loadavg_after" not in machine
        time.sleep(0.01)
    assert len(machine["loadavg_after"]) == 3 and all(x >= 0 for x in machine["loadavg_after"])
    assert len(machine["loadavg_before"]) == 3
    json.dumps(machine, allow_nan=False)  # JSON as it is
    with pytest.raises(KeyError), bench.machine_record() as failed:  # the record is completed even so
        raise KeyError
    assert "loadavg_after" in failed


def test_stopwatch_times_a_block():
    with bench.stopwatch() as sw:
        assert sw.seconds is None  # not read while it runs
        time.sleep(0.02)
    assert 0.019 < sw.seconds < 5
    with bench.stopwatch() as empty:
        pass
    assert 0 <= empty.seconds < sw.seconds
    with bench.stopwatch() as outer:  # nested blocks: the inner one's time is part of the outer one's
        with bench.stopwatch() as inner:
            time.sleep(0.005)
    assert 0 < inner.seconds <= outer.seconds


def test_no_clock_or_load_average_outside_the_timer():
    """Every benchmark times with bench.timing (stopwatch / measure) and records the machine with
    machine_record: no other module of holstein/bench/, no bench command and no benchmark script
    (ensemble_bench.py excepted, for now) reads a clock or the load average itself."""
    repo = Path(__file__).resolve().parents[1]
    files = [f for f in (repo / "holstein/bench").glob("*.py") if f.name != "timing.py"]
    files += [repo / "holstein/cli/bench.py"]
    files += [f for f in (repo / "benchmarks").glob("*.py") if f.name != "ensemble_bench.py"]
    clock = re.compile(r"\b(time\.(perf_counter|time|monotonic|process_time)|perf_counter|getloadavg)\b")
    found = [f"{f.relative_to(repo)}:{i}" for f in files for i, line in enumerate(f.read_text().splitlines(), 1)
             if clock.search(line)]
    assert files and not found, found


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


# ----------------------------------------------------------------------------- one root of benchmark results
def test_every_committed_benchmark_is_found_by_name():
    """All benchmark JSON lies under catalog.BENCHMARKS (inside the package); the book reads each
    with catalog.benchmark(name); the repository's benchmarks/ folder holds scripts only."""
    from holstein import catalog

    repo = Path(__file__).resolve().parents[1]
    assert catalog.BENCHMARKS == bench.BENCHMARKS == Path(catalog.__file__).parent / "artifacts" / "bench"
    committed = sorted(catalog.BENCHMARKS.glob("*.json"))
    assert {"ed", "speed", "kpm_accuracy", "transfer_L200", "step_L200", "tc_scan"} <= {f.stem for f in committed}
    for f in committed:
        assert catalog.benchmark(f.stem) == json.loads(f.read_text()), f
    assert not list((repo / "benchmarks").glob("*.json")) and not list((repo / "benchmarks").glob("*.png"))
    assert all(Path(repo / p).exists() for p in catalog.benchmark("speed")["plots"])


def test_committed_machine_records_use_the_one_set_of_keys():
    """The machine record of every committed benchmark is under "machine", with loadavg_before /
    loadavg_after (the names of machine_record), never the older loadavg, load, cores or cpu."""
    from holstein import catalog

    old = {"loadavg", "load", "cores", "cpu"}
    for f in sorted(catalog.BENCHMARKS.glob("*.json")):
        res = json.loads(f.read_text())
        for r in res.values() if f.stem == "step_L200" else [res]:  # step_L200: one result per label
            assert "machine" in r and not old & set(r) and not old & set(r["machine"]), f
            assert not {"loadavg_before", "loadavg_after"} & set(r), f"{f.name}: load outside the machine record"


def test_the_package_imports_no_repository_script():
    """No module of holstein/ imports from benchmarks/ or book/, by path or by name."""
    root = Path(bench.__file__).resolve().parents[1]
    bad = re.compile(r"spec_from_file_location|SourceFileLoader|sys\.path\.(insert|append)|runpy|"
                     r"^\s*(from|import)\s+(benchmarks|book)\b|import_module\(\s*[\"'](benchmarks|book)")
    found = [f"{f.relative_to(root)}:{i}: {line.strip()}" for f in sorted(root.rglob("*.py"))
             for i, line in enumerate(f.read_text().splitlines(), 1) if bad.search(line)]
    assert not found, found
