"""The chemical potential at fixed filling: one batched, safeguarded bisection.

Every occupation function of the package is monotonically increasing in μ,

    ED:     N_e(μ) = Σ_m f((ε_m - μ)/kT),           f the Fermi function;
    KPM:    N_e(μ) = Σ_m c_m(μ) τ_m,                 Chebyshev trace moments τ_m;
    models: N_e(μ) = Σ_i σ((μ - ε_i)/w_i),           learned levels ε_i and widths w_i,

so μ with N_e(μ) = target is found by bisection on a bracket [lo, hi] with N_e(lo) ≤ target ≤
N_e(hi). Each caller passes its own ``count(μ)``; gradients (the model's implicit ∂μ/∂ε) are the
caller's business, since bisection runs without them.
"""
from __future__ import annotations

from typing import Callable

import torch

__all__ = ["bisect_mu", "newton_mu"]


def bisect_mu(count: Callable[[torch.Tensor], torch.Tensor], lo: torch.Tensor, hi: torch.Tensor, target: float,
              max_steps: int = 200, scale: torch.Tensor | float = 1.0, early_stop: bool = True) -> torch.Tensor:
    """μ ``(B,)`` with ``count(μ) = target`` for a monotonically increasing ``count: (B,) -> (B,)``.

    Args:
        count: electron number at a trial μ, batched over the leading axis.
        lo, hi: ``(B,)`` brackets (count(lo) ≤ target ≤ count(hi)).
        target: the electron number, e.g. N/2 at half filling.
        max_steps: bisection steps at most (64 halve a bracket of width 1e3 below 1e-16).
        scale: absolute scale in the stopping rule |hi - lo| ≤ 4 ε_mach (|hi| + |lo| + scale).
        early_stop: test that rule after every step (one host synchronisation each); False runs
            exactly ``max_steps`` steps with no synchronisation, as a GPU wants.
    Returns:
        the mid-point of the final bracket, ``(B,)``, with no gradient.
    """
    with torch.no_grad():
        eps = torch.finfo(lo.dtype).eps
        for _ in range(max_steps):
            mid = 0.5 * (lo + hi)
            too_many = count(mid) > target
            hi, lo = torch.where(too_many, mid, hi), torch.where(too_many, lo, mid)
            if early_stop and bool(((hi - lo) <= 4 * eps * (hi.abs() + lo.abs() + scale)).all()):
                break
        return 0.5 * (lo + hi)


def newton_mu(count_and_slope: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]], lo: torch.Tensor,
              hi: torch.Tensor, target: float, mu0: torch.Tensor, max_steps: int = 100) -> torch.Tensor:
    """μ ``(B,)`` with ``count(μ) = target`` by safeguarded Newton: ~6 evaluations instead of ~60 bisections.

    ``count_and_slope(μ) -> (N_e(μ), dN_e/dμ)``, both ``(B,)``; ``[lo, hi]`` brackets the root and
    ``mu0`` (inside it) is the start. Each step is Newton's, μ - (N_e - target)/N_e', unless that
    leaves the bracket, which shrinks around the root at every step; then it bisects. Stops when
    the steps of all batch members fall below 4 ε_mach (|μ| + hi - lo of the start); no gradient.
    Deterministic for a given input (the result does not depend on any earlier call).
    """
    with torch.no_grad():
        eps = torch.finfo(lo.dtype).eps
        scale = (hi - lo).abs()
        mu = mu0.clone()
        for _ in range(max_steps):
            c, d = count_and_slope(mu)
            above = c > target
            hi, lo = torch.where(above, mu, hi), torch.where(above, lo, mu)
            new = mu - (c - target) / d.clamp_min(torch.finfo(lo.dtype).tiny)
            new = torch.where((new >= lo) & (new <= hi), new, 0.5 * (lo + hi))
            done = bool(((new - mu).abs() <= 4 * eps * (mu.abs() + scale)).all())
            mu = new
            if done:
                break
        return mu
