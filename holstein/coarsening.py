r"""Quench ensembles as Q snapshots: :func:`run_quenches` and the ensemble C(r, t) and L(t) from them.

A thin layer over the quench engine (:mod:`holstein.quench`) for the callers that want the
snapshots themselves (small interactive quenches, the transfer check): replica b of a batch is
bit for bit the unbatched quench with integer seed ``seeds[b]``. The long runs keep compact
observables instead (:func:`holstein.quench.run`); their α(T) lives in :mod:`holstein.quench.analysis`.

Arrays are numpy: ``time (T,)``, ``Q (T, B, L, L)``; lengths in lattice spacings, time in 1/t.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from . import observables as obs
from . import quench
from .params import PAPER, HolsteinParams

__all__ = ["run_quenches", "correlation_curves", "domain_growth"]


def run_quenches(force_fn: Callable, L: int, n_steps: int, every: int, seeds: Sequence[int] = (0,),
                 p: HolsteinParams = PAPER, device: str = "cpu", path=None, progress: bool = True) -> dict:
    """A batch of Langevin quenches from hot starts to ``p.kT`` with ``force_fn``: the Q snapshots of
    the engine's run (:func:`holstein.quench.run` with ``snapshots=True``; with ``path``, a run of the
    store: resumable, identity-checked; ``force_fn`` must then be a :class:`holstein.force.Force`).

    Returns ``dict(time (T,), step (T,), Q (T, B, L, L), seeds (B,))`` with T = 1 + ceil(n_steps / every)
    (the final state is always recorded) and time = step · dt.
    """
    ident, res = quench.run(force_fn, L, list(seeds), p, n_steps, every, path, snapshots=True, device=device,
                            progress=progress)
    return dict(time=res["time"], step=res["step"], Q=res["Q"], seeds=np.asarray(ident["seeds"], np.int64))


def correlation_curves(Q, dr: float | None = 1.0, use_phi: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble correlation C(r, t) = ⟨φ_i φ_{i+r}⟩ / ⟨φ²⟩ at every recorded time.

    Q: ``(T, B, L, L)`` (replicas averaged before normalising, the ensemble definition of
    :func:`holstein.observables.correlation_map`) or ``(T, L, L)``.
    Returns ``r (n_r,)`` and ``C (T, n_r)``.
    """
    Q = np.asarray(Q, dtype=np.float64) if not isinstance(Q, torch.Tensor) else Q.detach().cpu().numpy()
    if Q.ndim == 3:
        Q = Q[:, None]
    if Q.ndim != 4:
        raise ValueError(f"Q must have shape (T, B, L, L) or (T, L, L), got {Q.shape}")
    curves = [obs.correlation(Q[k], use_phi=use_phi, average_batch=True, dr=dr) for k in range(Q.shape[0])]
    return curves[0][0], np.stack([C for _, C in curves])


def domain_growth(time, Q, dr: float | None = 1.0, level: float = 0.5) -> dict:
    """C(r, t) and the domain size L(t) defined by C(L(t), t) = ``level`` (NaN where undefined).

    Returns ``dict(time (T,), r (n_r,), C (T, n_r), L (T,))``.
    """
    r, C = correlation_curves(Q, dr=dr)
    Lt = np.array([obs.domain_size(r, c, level=level) for c in C])
    return dict(time=np.asarray(time, dtype=np.float64), r=r, C=C, L=Lt)
