"""Energy conservation of Newtonian dynamics (γ = 0): the check of a conservative force field.

With no bath, m Q̈_i = F_i and velocity Verlet conserves H = E(Q) + K(V), K = Σ_i m V_i²/2, up to a
bounded O(dt²) fluctuation: halving dt divides max_t |H(t) - H(0)| by 4.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from . import dynamics
from .forces import kinetic_energy
from .params import HolsteinParams

__all__ = ["run", "energy_error", "dt_halving"]


def run(force_fn: Callable, energy_fn: Callable, Q0: torch.Tensor, V0: torch.Tensor, p: HolsteinParams,
        n_steps: int, every: int, batch: int = 8) -> dict:
    """Velocity Verlet from (Q0, V0) with ``p.gamma = 0``; ``energy_fn: (B, L, L) -> (B,)`` is evaluated
    on the recorded snapshots, ``batch`` at a time. Returns numpy ``dict(time, E, K, H)``, each (T,)."""
    if p.gamma != 0:
        raise ValueError(f"NVE dynamics needs gamma = 0, got {p.gamma}")
    state = dynamics.init(Q0, force_fn, p, V0=V0)
    _, traj = dynamics.run(state, force_fn, p, n_steps=n_steps, record_every=every, fields=("Q", "V"), progress=False)
    with torch.no_grad():
        E = torch.cat([energy_fn(traj.Q[s:s + batch].to(Q0.device)).cpu() for s in range(0, len(traj), batch)])
    E, K = E.double().numpy(), kinetic_energy(traj.V, p).double().numpy()
    return dict(time=traj.time.numpy(), E=E, K=K, H=E + K)


def energy_error(r: dict) -> float:
    """max_t |H(t) - H(0)| of a :func:`run` (energy units of t)."""
    return float(np.abs(r["H"] - r["H"][0]).max())


def dt_halving(force_fn: Callable, energy_fn: Callable, Q0: torch.Tensor, V0: torch.Tensor, p: HolsteinParams,
               n_steps: int) -> dict:
    """The same time n_steps·dt integrated with dt (every step recorded) and dt/2 (every second step):
    ``dict(dt=run, half=run, ratio=energy_error(dt) / energy_error(dt/2))``; ratio ≈ 4 for Verlet."""
    full = run(force_fn, energy_fn, Q0, V0, p, n_steps, 1)
    half = run(force_fn, energy_fn, Q0, V0, p.replace(dt=p.dt / 2), 2 * n_steps, 2)
    return dict(dt=full, half=half, ratio=energy_error(full) / energy_error(half))
