"""The start of every quench: seeds -> hot starts and noise streams -> the initial state.

Replica b of a batch ``seeds`` draws its hot start and noise from the streams of seed ``s_b``
(:func:`holstein.dynamics.matched_seeds`): it is bit for bit the unbatched quench of ``s_b``,
wherever and with whichever replicas it runs, and shares them with the ED run of the same seeds.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from .. import dynamics
from ..params import HolsteinParams

__all__ = ["start", "seed_list"]


def seed_list(seeds) -> list[int]:
    """``seeds`` as a list of ints (an integer seed, the unbatched run, is one replica)."""
    return [int(seeds)] if isinstance(seeds, (int, np.integer)) else [int(s) for s in seeds]


def start(force: Callable, L: int, seeds: int | Sequence[int], p: HolsteinParams, device: str = "cpu",
          ordered: float | None = None) -> dynamics.State:
    r"""The state at t = 0 of the quench of ``seeds`` from the reference hot start
    (:func:`holstein.dynamics.hot_start`), F = ``force(Q0)``: an integer seed gives one unbatched
    replica ``(L, L)``, a sequence of B distinct seeds a batch ``(B, L, L)``.

    ``ordered``: Q0_i = ordered · (-1)^(x+y) for every replica instead of the hot Q (V and the noise
    stay the seeds'), an equilibrium start from the ordered side (the Binder cumulant below T_c).
    """
    if isinstance(seeds, (int, np.integer)):
        Q0, V0 = dynamics.hot_start(L, p, seed=int(seeds))  # drawn on the CPU, as simulate always did
        return dynamics.init(_ordered(Q0, ordered).to(device), force, p, V0=V0.to(device), seed=int(seeds))
    seeds = seed_list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"need distinct seeds, got {seeds}")
    hot, noise = dynamics.matched_seeds(seeds)
    Q0, V0 = dynamics.hot_start(L, p, seed=hot, batch=len(hot), device=device)
    return dynamics.init(_ordered(Q0, ordered), force, p, V0=V0, seed=noise)


def _ordered(Q0, amplitude: float | None):
    """``Q0`` itself, or the checkerboard amplitude · (-1)^(x+y) of its shape."""
    if amplitude is None:
        return Q0
    L = Q0.shape[-1]
    x = torch.arange(L, device=Q0.device)
    return (float(amplitude) * (1 - 2 * ((x[:, None] + x[None, :]) % 2))).to(Q0.dtype).expand_as(Q0).clone()
