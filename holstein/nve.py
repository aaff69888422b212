"""Energy conservation of Newtonian dynamics (γ = 0): the check of a conservative force field.

With no bath, m Q̈_i = F_i and velocity Verlet conserves H = E(Q) + K(V), K = Σ_i m V_i²/2, up to a
bounded O(dt²) fluctuation: halving dt divides max_t |H(t) - H(0)| by 4. A direct-force model has no
E to add, and the work booked along a Verlet trajectory is no test either: with the trapezoid rule it
equals K(t) − K(0) − dt²/8m (|F(t)|² − |F(0)|²) for any force. What tells a gradient from a force with
a curl is :func:`loop_work`, the work around closed loops, which vanishes for a gradient only.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from . import dynamics
from .forces import kinetic_energy
from .params import HolsteinParams

__all__ = ["run", "loop_work", "energy_error", "dt_halving"]


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


def loop_work(force_fn: Callable, Q0: torch.Tensor, a: float, n_loops: int = 8, n_points: int = 64,
              seed: int = 0, batch: int = 16) -> dict:
    """The work of a force around closed loops through configuration space.

    Each loop is Q(s) = Q0 + a (cos s · u + sin s · v), s ∈ [0, 2π), with u, v orthonormal random
    fields of Q0's shape (seeded), so a is the loop's radius in units of √(Σ_i Q_i²). The work
    W = ∮ F·dQ is summed with the periodic trapezoid rule on ``n_points`` points, exact for a
    trigonometric polynomial of degree < ``n_points`` and exponentially accurate for a smooth force.
    A gradient F = −∇E has W = 0 up to rounding whatever the loop (ED, the energy models); a force
    with a curl does not (a direct-force model). For F = A Q, W = π a² v·(A − Aᵀ) u: zero for symmetric A,
    2π a² v·(A u) for antisymmetric A.

    Returns numpy ``dict(W, W_coarse, scale)``, each (n_loops,): W on ``n_points``, W_coarse on half
    as many (the quadrature's own check), and scale = ∮ |F·dQ|, the work's magnitude along the way.
    """
    gen = torch.Generator().manual_seed(seed)
    s = torch.arange(n_points, dtype=torch.float64) * (2 * np.pi / n_points)
    c, sn = (x.reshape((-1,) + (1,) * Q0.dim()).to(Q0) for x in (torch.cos(s), torch.sin(s)))
    out = {k: [] for k in ("W", "W_coarse", "scale")}
    for _ in range(n_loops):
        u, v = (torch.randn(Q0.shape, generator=gen, dtype=torch.float64).to(Q0) for _ in range(2))
        u = u / u.norm()
        v = v - (v * u).sum() * u
        v = v / v.norm()
        Q, dQ = Q0 + a * (c * u + sn * v), a * (c * v - sn * u)
        with torch.no_grad():
            F = torch.cat([force_fn(Q[i:i + batch]) for i in range(0, n_points, batch)]).to(dQ)
        dW = (F * dQ).flatten(1).sum(1).double().cpu() * (2 * np.pi / n_points)
        out["W"].append(float(dW.sum()))
        out["W_coarse"].append(float(dW[::2].sum() * 2))
        out["scale"].append(float(dW.abs().sum()))
    return {k: np.array(v) for k, v in out.items()}
