"""Occupation read-out with a global chemical potential (an extension beyond the reference work).

A GCN built with ``head="occupation"`` (needs ``target="electronic"``) ends in two channels per
site instead of one, and owns an :class:`OccupationReadout` that turns them into forces: a local
level ε_i (in units of g·q_scale) and a width w_i = kT + softplus(·), and

    n_i = 1 / (1 + e^{(ε_i - μ)/w_i}),      μ such that Σ_i n_i = N/2,      F^e_i = g (n_i - 1/2),

the atomic-limit form of the exact n_i, with μ found *globally* for every configuration
(:func:`half_filling_mu`: safeguarded Newton without gradient, then one Newton step that carries the exact
implicit gradient ∂μ/∂ε_i = (∂n_i/∂ε_i) / Σ_j ∂n_j/∂ε_j). Half filling, hence Σ_i F^e_i = 0, holds
by construction, and the few sites whose levels lie within ~kT of μ (domain walls, hot spots)
share the remaining charge as in ED rather than guessing μ locally.

The read-out has no parameters (the network's last layer has two outputs: 16,770 parameters for
``gcn_lean_mu`` instead of 16,705), and it returns normalised forces f = F^e / f_scale like every
other direct model, so ``predict(x)`` is ``(B, L, L)`` whatever the head.
"""
from __future__ import annotations

import torch
from torch import nn

from ..filling import newton_mu
from ..forces import from_density
from ..params import HolsteinParams

__all__ = ["half_filling_mu", "OccupationReadout"]


def half_filling_mu(eps: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """μ with Σ_i σ((μ - ε_i)/w_i) = N/2 for levels ``eps`` and widths ``w > 0`` of shape (B, L, L) -> (B,).

    Safeguarded Newton (:func:`holstein.filling.newton_mu`, no gradient, in float64 whatever the
    model's precision) from the atomic-limit guess μ0 = median ε on the bracket
    [min ε - 40 max w, max ε + 40 max w] (about 6 passes over the sites instead of the 64 of a
    bisection), then one Newton step with gradient, μ = μ* - (Σ n - N/2)/Σ ∂n/∂μ: its value is μ*
    to rounding and its derivatives are the implicit-function ones.
    """
    B, N = eps.shape[0], eps[0].numel()
    e, ww = eps.reshape(B, N), w.reshape(B, N)
    with torch.no_grad():
        e64, w64 = e.detach().double(), ww.detach().double()
        pad = 40 * w64.amax(-1)

        def count_and_slope(m):
            n = torch.sigmoid((m[:, None] - e64) / w64)
            return n.sum(-1), (n * (1 - n) / w64).sum(-1)

        mu = newton_mu(count_and_slope, e64.amin(-1) - pad, e64.amax(-1) + pad, N / 2,
                       e64.median(-1).values).to(e.dtype)
    n = torch.sigmoid((mu[:, None] - e) / ww)  # (B, N)
    return mu - (n.sum(-1) - N / 2) / (n * (1 - n) / ww).sum(-1).clamp_min(torch.finfo(e.dtype).tiny)


class OccupationReadout(nn.Module):
    """Levels and widths -> normalised electronic forces through a global μ (module docstring).

    ``physics``: the :class:`HolsteinParams` whose g scales levels and forces and whose kT bounds
    the widths from below (at least 1e-3). No parameters.

    ``forward(h: (B, L, L, 2), q_scale, f_scale) -> (B, L, L)``: h[..., 0] the levels in units of
    g·q_scale, h[..., 1] the raw widths; returns f = g (n_i - 1/2) / f_scale.
    """

    def __init__(self, physics: HolsteinParams):
        super().__init__()
        self.physics = physics

    def levels(self, h: torch.Tensor, q_scale: torch.Tensor, kT=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(ε, w), both ``(B, L, L)``, from the raw outputs ``h: (B, L, L, 2)``; ``kT``: ``(B,)`` (a
        temperature-aware model: the Fermi width of each configuration) or None (``physics.kT``)."""
        p = self.physics
        eps = (p.g * q_scale.to(h.dtype)) * h[..., 0]  # (B, L, L) local levels
        floor = max(p.kT, 1e-3) if kT is None else kT.to(h.dtype).clamp_min(1e-3).reshape(-1, *[1] * (h.dim() - 2))
        w = floor + nn.functional.softplus(h[..., 1])  # (B, L, L) widths >= kT
        return eps, w

    def density(self, h: torch.Tensor, q_scale: torch.Tensor, kT=None) -> torch.Tensor:
        """n_i ``(B, L, L)`` at half filling from the raw outputs ``h: (B, L, L, 2)``."""
        eps, w = self.levels(h, q_scale, kT)
        mu = half_filling_mu(eps, w)  # (B,)
        return torch.sigmoid((mu.reshape(-1, *[1] * (eps.dim() - 1)) - eps) / w)  # (B, L, L[, 2])

    def forward(self, h: torch.Tensor, q_scale: torch.Tensor, f_scale: torch.Tensor, kT=None) -> torch.Tensor:
        return from_density(self.density(h, q_scale, kT), None, self.physics) / f_scale.to(h.dtype)
