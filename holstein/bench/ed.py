"""The cost of one ED force evaluation against a bare ``torch.linalg.eigh`` (``python -m holstein bench ed``).

The ED force is one eigh of the N×N hopping matrix (N = L²) plus O(N²) work (μ bisection,
densities), so the ratio should approach 1 as L grows; target ≤ 1.2 at L = 40.
"""
from __future__ import annotations

import statistics

import torch
from tqdm.auto import tqdm

from .. import ed
from ..params import PAPER, HolsteinParams
from .timing import machine_record, measure

__all__ = ["bench_ed"]


def bench_ed(Ls=(12, 16, 24, 32, 40, 48), p: HolsteinParams = PAPER, repeats: int = 5, device: str = "cpu",
             seed: int = 0, progress: bool = True) -> dict:
    """Time ``ed.forces`` and a bare eigh of the same Hamiltonian for each L; return a JSON-able dict.

    Rows: ``L, N, t_ed_forces_s, t_eigh_s`` (the fastest of ``repeats`` calls), their ``ratio``
    and the medians ``t_ed_forces_median_s, t_eigh_median_s`` (seconds).
    """
    rows = []
    with machine_record(device) as machine:
        for L in tqdm(Ls, desc="bench ED", disable=not progress):
            g = torch.Generator().manual_seed(seed)
            Q = torch.randn(L, L, generator=g, dtype=torch.float64).to(device)
            H = ed.hamiltonian(Q, p)
            # interleave the two measurements and keep the fastest of each, so that load from other
            # processes on a shared machine (which only ever adds time) affects both alike
            t_eigh, t_ed = [], []
            for _ in range(repeats):
                t_eigh.append(measure(lambda: torch.linalg.eigh(H), 1, device=device, warmup=not t_eigh)["t_s"])
                t_ed.append(measure(lambda: ed.forces(Q, p), 1, device=device, warmup=not t_ed)["t_s"])
            rows.append(dict(L=L, N=L * L, t_ed_forces_s=min(t_ed), t_eigh_s=min(t_eigh), ratio=min(t_ed) / min(t_eigh),
                             t_ed_forces_median_s=statistics.median(t_ed), t_eigh_median_s=statistics.median(t_eigh)))
    return dict(benchmark="ed_forces_vs_eigh", params=p.to_dict(), repeats=repeats, machine=machine, results=rows)
