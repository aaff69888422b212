"""Checks a force field must pass, as pure functions that return the deviation they measure.

The tests assert on them and the book shows them: symmetry (D4 about a site and translations),
agreement of the PyG and stencil backends, and F = -∂E/∂Q of the energy models by finite
differences; and the receptive field, |∂F_c/∂Q_j|. Fields are ``Q: (B, L, L)`` (float64 for deviations at rounding level).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch

from ..lattice import apply_d4, translate

__all__ = ["equivariance_deviation", "check_equivariance", "backend_difference", "finite_difference_error",
           "force_sensitivity"]


def equivariance_deviation(fn: Callable, Q: torch.Tensor, shifts: Sequence[tuple[int, int]] = ((0, 0),)) -> float:
    """max |fn(g Q) - g fn(Q)| over the 8 elements of D4 (about site 0) each followed by every
    translation in ``shifts``; ``fn`` maps ``(B, L, L)`` to ``(B, ..., L, L)`` (sites last)."""
    ref = fn(Q)
    dev = 0.0
    for op in range(8):
        for dx, dy in shifts:
            g = lambda a: translate(apply_d4(a, op), dx, dy)  # noqa: E731
            dev = max(dev, (fn(g(Q)) - g(ref)).abs().max().item())
    return dev


def check_equivariance(model, Q: torch.Tensor) -> dict:
    """The forces of ``model`` under the lattice's symmetries: ``dict(d4=, translations=)``, the max
    |F(gQ) - g F(Q)| over the 8 D4 operations about site 0, and over the same each followed by the
    translations (1, 0) and (L/2 - 1, 1)."""
    fn = model.as_force_fn()
    L = Q.shape[-1]
    return dict(d4=equivariance_deviation(fn, Q),
                translations=equivariance_deviation(fn, Q, shifts=((1, 0), (L // 2 - 1, 1))))


def backend_difference(model, Q: torch.Tensor) -> float:
    """max |F_a - F_b| between ``model`` and a twin with the same weights on the other message-passing
    backend (``"pyg"`` ↔ ``"stencil"``), both in float64 on ``Q``'s device."""
    other = "pyg" if model.backend == "stencil" else "stencil"
    twin = type(model)(**dict(model.config(), backend=other)).to(device=Q.device, dtype=torch.float64)
    twin.load_state_dict(model.state_dict())
    twin.eval()
    with torch.set_grad_enabled(model.energy_based):
        return (model(Q).detach() - twin(Q).detach()).abs().max().item()


def finite_difference_error(model, Q: torch.Tensor, h: float = 1e-4, n_directions: int = 3,
                            generator: torch.Generator | None = None) -> float:
    """max over random unit directions v of |FD - F·v| / |F|, FD = -[E(Q + hv) - E(Q - hv)] / 2h the
    central difference of the model energy (``Q: (L, L)``; error O(h²)). ``generator`` draws the v."""
    F = model(Q).detach()
    worst = 0.0
    with torch.no_grad():
        for _ in range(n_directions):
            v = torch.randn(Q.shape, dtype=Q.dtype, generator=generator).to(Q.device)
            v /= v.norm()
            fd = -(model.energy(Q + h * v) - model.energy(Q - h * v)) / (2 * h)
            worst = max(worst, abs(fd.item() - (F * v).sum().item()) / F.norm().item())
    return worst


def force_sensitivity(model, Q: torch.Tensor) -> torch.Tensor:
    """|∂F_c/∂Q_j| for the centre site c = (L/2, L/2) of ``Q: (L, L)``, shape (L, L) on the CPU: zero
    outside the receptive field (``model.receptive_field`` nearest-neighbour hops for the GNNs)."""
    c = Q.shape[-1] // 2
    Qg = Q.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad(model(Qg)[c, c], Qg)
    return grad.abs().cpu()
