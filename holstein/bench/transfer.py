"""Do the force fields transfer to large lattices? Their forces against KPM (where ED cannot go, with
an error far below the models') on a large quench (``python -m holstein bench transfer``).
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from .. import kpm, quench
from ..forces import from_density
from ..params import PAPER, HolsteinParams
from ..train import force_metrics
from .timing import machine_record, stopwatch

__all__ = ["transfer_check"]


def transfer_check(models: dict, L: int, n_steps: int, every: int, driver: str, p: HolsteinParams = PAPER,
                   seed: int = 0, skip_first: int = 1, kpm_kwargs=None, device: str = "cpu",
                   progress: bool = True) -> dict:
    """Force error of ML models on large quench snapshots, measured against KPM (no ED possible): the
    check that force fields trained on 24×24 ED data transfer to the lattices of the coarsening study.

    One quench of an L×L lattice from the reference hot start is run with ``models[driver]``,
    recording every ``every`` steps; on each snapshot after the first ``skip_first`` the KPM forces
    F_i = g (n_i - 1/2) + F^el_i (:func:`holstein.kpm.solve` with ``kpm_kwargs``) are the reference
    for every model of ``models`` ({name: force function}). Returns a JSON-able dict: settings, KPM
    time and moments per snapshot, per model :func:`holstein.train.force_metrics` of every snapshot
    and of all together, and the ``machine`` record.
    """
    kpm_kwargs = dict(kpm_kwargs or {})
    with machine_record(device) as machine:
        _, run = quench.run(models[driver], L, [seed], p, n_steps, every, snapshots=True, device=device,
                            progress=progress)
        times, Qs = run["time"][skip_first:], run["Q"][skip_first:, 0]  # (T,), (T, L, L)
        ref, snaps = [], []
        for t, Q in zip(tqdm(times, desc=f"KPM L={L}", disable=not progress), Qs):
            Qt = torch.as_tensor(Q, dtype=torch.float64, device=device)
            with stopwatch(device) as sw:
                sol = kpm.solve(Qt, p, **kpm_kwargs)
            ref.append(from_density(sol.n, Qt, p).cpu().numpy())
            snaps.append(dict(time=float(t), t_kpm_s=sw.seconds, n_moments=int(sol.n_moments),
                              max_abs_Q=float(abs(Q).max())))
        ref = np.stack(ref)  # (T, L, L)
        per_model = {}
        for name, fn in models.items():
            F = np.stack([fn(torch.as_tensor(Q, dtype=torch.float64, device=device)).detach().cpu().numpy()
                          for Q in Qs])
            per_model[name] = dict(all=force_metrics(ref, F), snapshots=[force_metrics(r, f) for r, f in zip(ref, F)])
    return dict(benchmark="transfer_to_large_lattices", L=int(L), n_steps=int(n_steps), every=int(every),
                driver=driver, seed=int(seed), params=p.to_dict(), kpm=kpm_kwargs, snapshots=snaps,
                models=per_model, machine=machine)
