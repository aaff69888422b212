"""Benchmarks that write JSON (never timed asserts).

``bench_ed``: the cost of one ED force evaluation against a bare ``torch.linalg.eigh`` of the
same N×N matrix, for several L. The ED force is one eigh plus O(N²) work (μ bisection,
densities), so the ratio should approach 1 as L grows; target ≤ 1.2 at L = 40.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import ed
from .params import PAPER, HolsteinParams

__all__ = ["machine_info", "median_time", "bench_ed", "write_json"]


def machine_info(device: str = "cpu") -> dict:
    info = dict(platform=platform.platform(), processor=platform.processor() or platform.machine(),
                cpu_count=os.cpu_count(), torch=torch.__version__, threads=torch.get_num_threads(), device=device)
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def median_time(fn, repeats: int = 5, warmup: int = 1, device: str = "cpu") -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_ed(Ls=(12, 16, 24, 32, 40, 48), p: HolsteinParams = PAPER, repeats: int = 5, device: str = "cpu",
             seed: int = 0, progress: bool = True) -> dict:
    """Time ``ed.forces`` and a bare eigh of the same Hamiltonian for each L; return a JSON-able dict."""
    rows = []
    for L in tqdm(Ls, desc="bench ED", disable=not progress):
        g = torch.Generator().manual_seed(seed)
        Q = torch.randn(L, L, generator=g, dtype=torch.float64).to(device)
        H = ed.hamiltonian(Q, p)
        reps = repeats if L <= 40 else max(2, repeats // 2)
        t_eigh = median_time(lambda: torch.linalg.eigh(H), reps, device=device)
        t_ed = median_time(lambda: ed.forces(Q, p), reps, device=device)
        rows.append(dict(L=L, N=L * L, t_ed_forces_s=t_ed, t_eigh_s=t_eigh, ratio=t_ed / t_eigh))
    return dict(benchmark="ed_forces_vs_eigh", params=p.to_dict(), repeats=repeats, machine=machine_info(device),
                results=rows)


def write_json(result: dict, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
