r"""Quench ensembles as Q snapshots: :func:`run_quenches`, a thin layer over the quench engine
(:mod:`holstein.quench`) for the callers that want the snapshots themselves (the transfer check):
replica b of a batch is bit for bit the unbatched quench with integer seed ``seeds[b]``. C(r, t),
L(t) and α of any run come from its compact observables (:mod:`holstein.quench.analysis`).

Arrays are numpy: ``time (T,)``, ``Q (T, B, L, L)``; lengths in lattice spacings, time in 1/t.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from . import quench
from .params import PAPER, HolsteinParams

__all__ = ["run_quenches"]


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
