"""The cost of one ED force evaluation against a bare ``torch.linalg.eigh`` (``python -m holstein bench ed``).

The ED force is one eigh of the N×N hopping matrix (N = L²) plus O(N²) work (μ bisection,
densities), so the ratio should approach 1 as L grows; target ≤ 1.2 at L = 40.
"""
from __future__ import annotations

import torch
from tqdm.auto import tqdm

from .. import ed
from ..params import PAPER, HolsteinParams
from .timing import machine_record, measure_interleaved

__all__ = ["bench_ed"]


def bench_ed(Ls=(12, 16, 24, 32, 40, 48), p: HolsteinParams = PAPER, repeats: int = 5, device: str = "cpu",
             seed: int = 0, progress: bool = True) -> dict:
    """Time ``ed.forces`` and a bare eigh of the same Hamiltonian for each L, interleaved
    (:func:`~holstein.bench.timing.measure_interleaved`); return a JSON-able dict.

    Rows: ``L, N, t_ed_forces_s, t_eigh_s`` (the fastest of ``repeats`` calls), their ``ratio``
    and the medians ``t_ed_forces_median_s, t_eigh_median_s`` (seconds).
    """
    rows = []
    with machine_record(device) as machine:
        for L in tqdm(Ls, desc="bench ED", disable=not progress):
            g = torch.Generator().manual_seed(seed)
            Q = torch.randn(L, L, generator=g, dtype=torch.float64).to(device)
            H = ed.hamiltonian(Q, p)
            t = measure_interleaved({"eigh": lambda: torch.linalg.eigh(H), "ed": lambda: ed.forces(Q, p)}, repeats,
                                    device)
            rows.append(dict(L=L, N=L * L, t_ed_forces_s=t["ed"]["t_min_s"], t_eigh_s=t["eigh"]["t_min_s"],
                             ratio=t["ed"]["t_min_s"] / t["eigh"]["t_min_s"], t_ed_forces_median_s=t["ed"]["t_s"],
                             t_eigh_median_s=t["eigh"]["t_s"]))
    return dict(benchmark="ed_forces_vs_eigh", params=p.to_dict(), repeats=repeats, machine=machine, results=rows)
