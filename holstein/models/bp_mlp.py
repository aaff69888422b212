r"""Behler–Parrinello force field: the force on each site from its D4-invariant descriptor.

    F_i = f_scale · MLP( (d_i - μ) / σ ),     d_i = descriptors(Q / q_scale)_i ∈ R^D

with d_i the D = 45 invariants of the 45-site neighbourhood of site i
(:mod:`holstein.descriptors`), μ, σ a per-component mean and standard deviation fitted on
training fields (:meth:`BPMLP.fit_normalisation`), and one MLP shared by all sites (the
"atomic network" of Behler & Parrinello; Zhang, Fan, Chern et al. predict the Holstein force
directly rather than as the gradient of a site energy).

Symmetry: d_i is invariant under every D4 operation about site i, and every site uses the same
network, so the predicted force is a scalar field that is *exactly* covariant under the lattice
translations and the 8 point operations: F(gQ) = g F(Q). It is not made odd under Q → -Q
(the particle–hole symmetry of the half-filled model); the signed A1 coefficients in d let
the network learn that. The cutoff is r ≤ √13: forces depend only on Q within that disc.

Architecture (reference): D-4096-2048-750-592-256-127-69-1 with ReLU, no activation on the
output. Parameter count Σ (n_in + 1) n_out = 10 753 763 for D = 45 (10 798 819 with the
extended D = 56 descriptor). The lean variant ``bp_mlp_lean`` (45-64-64-32-1) has 9 217.

Initialisation:

* ``init="reference"``: weights ~ N(0, init_std²), biases ~ N(0, bias_std²), init_std = 0.1 and
  bias_std = 0.05 as in the reference. With standardised inputs, layer k multiplies the mean
  square of its pre-activations by about n_in · init_std² / 2 (ReLU halves it): 0.45 for the
  first layer, then 20.5, 10.2, 3.75, 2.96, 1.28, 0.64, 0.35 through the default stack. The
  hidden pre-activations grow from rms 0.7 to rms ~35 (layers 5–6, measured) and the initial
  output has rms 7–25 (measured over seeds) instead of 1: not an overflow, but the network starts
  far from the data scale and the first steps need a small learning rate. ``init="kaiming"``
  avoids this.
* ``init="kaiming"``: weights ~ N(0, 2/n_in) (He et al.), last layer N(0, 1/n_in), biases 0;
  activations keep unit scale through any depth and width.

Shapes: ``predict(x: (B, L, L)) -> (B, L, L)``; ``model(Q)`` accepts ``(L, L)`` or ``(B, L, L)``.
Cost per site: one 45 × 45 matrix product, the invariants, and the MLP.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..descriptors import DESCRIPTOR_LENGTH, DESCRIPTOR_LENGTH_EXTENDED, descriptors
from ..params import HolsteinParams
from . import register
from .base import ForceModel

__all__ = ["BPMLP", "BPMLPLean", "REFERENCE_HIDDEN"]

#: Hidden widths of the reference network.
REFERENCE_HIDDEN = (4096, 2048, 750, 592, 256, 127, 69)
_INITS = ("reference", "kaiming")


@register("bp_mlp")
class BPMLP(ForceModel):
    """Behler–Parrinello MLP on D4-invariant site descriptors (see the module docstring).

    Args:
        hidden: hidden layer widths (default: the reference 4096-2048-750-592-256-127-69).
        target: ``"total"`` or ``"electronic"`` (see :class:`~holstein.models.base.ForceModel`).
        physics: :class:`HolsteinParams`, required for ``target="electronic"``.
        init: ``"reference"`` (N(0, init_std²) weights, N(0, bias_std²) biases) or ``"kaiming"``.
        init_std, bias_std: the standard deviations of the reference initialisation.
        extended: use the D = 56 descriptor with the sign-relative products of the 1-d irreps.
        seed: seed of the initialisation (``None``: torch's global generator).
        center: see :class:`~holstein.models.base.ForceModel`.

    Equivariant to lattice translations and D4 (exactly, for any weights).
    """

    def __init__(self, hidden=REFERENCE_HIDDEN, target: str = "total", physics: HolsteinParams | None = None,
                 init: str = "reference", init_std: float = 0.1, bias_std: float = 0.05,
                 extended: bool = False, seed: int | None = None, center=False):
        super().__init__(target=target, physics=physics, center=center)
        hidden = tuple(int(h) for h in hidden)
        if not hidden or any(h < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty sequence of positive widths, got {hidden}")
        if init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}, got {init!r}")
        if not (init_std > 0 and bias_std >= 0):
            raise ValueError(f"need init_std > 0 and bias_std >= 0, got {init_std}, {bias_std}")
        self.extended = bool(extended)
        self.n_descriptors = DESCRIPTOR_LENGTH_EXTENDED if self.extended else DESCRIPTOR_LENGTH
        widths = (self.n_descriptors, *hidden, 1)
        layers: list[nn.Module] = []
        for k, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if k < len(widths) - 2:
                layers.append(nn.ReLU())
        self.mlp = nn.Sequential(*layers)
        self.register_buffer("desc_mean", torch.zeros(self.n_descriptors))
        self.register_buffer("desc_std", torch.ones(self.n_descriptors))
        self._init_weights(init, float(init_std), float(bias_std), seed)

    @torch.no_grad()
    def _init_weights(self, init: str, init_std: float, bias_std: float, seed: int | None) -> None:
        gen = None
        if seed is not None:
            gen = torch.Generator(device="cpu").manual_seed(int(seed))
        linears = [m for m in self.mlp if isinstance(m, nn.Linear)]
        for k, lin in enumerate(linears):
            w = torch.empty(lin.weight.shape, dtype=torch.float64)
            b = torch.empty(lin.bias.shape, dtype=torch.float64)
            if init == "reference":
                w.normal_(0.0, init_std, generator=gen)
                if bias_std > 0:
                    b.normal_(0.0, bias_std, generator=gen)
                else:
                    b.zero_()
            else:
                gain = 1.0 if k == len(linears) - 1 else 2.0
                w.normal_(0.0, math.sqrt(gain / lin.in_features), generator=gen)
                b.zero_()
            lin.weight.copy_(w)
            lin.bias.copy_(b)

    @torch.no_grad()
    def fit_normalisation(self, Q: torch.Tensor, eps: float = 1e-8) -> None:
        """Set the descriptor mean/std buffers from a batch of fields ``Q: (B, L, L)`` or ``(L, L)``.

        Statistics are taken over all sites of the batch, on x = Q / q_scale (set q_scale first).
        Components with a spread below ``eps`` (constant on the batch) keep std = 1.
        """
        if not isinstance(Q, torch.Tensor):
            raise TypeError(f"Q must be a torch.Tensor, got {type(Q).__name__}")
        Q, _ = self._prepare(Q)
        d = descriptors(Q / self.q_scale.to(Q.dtype), extended=self.extended).reshape(-1, self.n_descriptors)
        mean, std = d.mean(0), d.std(0, unbiased=False)
        std = torch.where(std > eps, std, torch.ones_like(std))
        self.desc_mean.copy_(mean.to(self.desc_mean))
        self.desc_std.copy_(std.to(self.desc_std))

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised forces of normalised fields: ``(B, L, L)`` -> ``(B, L, L)``."""
        d = descriptors(x, extended=self.extended)  # (B, L, L, D)
        d = (d - self.desc_mean.to(d.dtype)) / self.desc_std.to(d.dtype)
        return self.mlp(d).squeeze(-1)


@register("bp_mlp_lean")
class BPMLPLean(BPMLP):
    """Lean Behler–Parrinello MLP: 45-64-64-32-1, Kaiming initialisation, 9 217 parameters.

    Same descriptors, symmetry and interface as :class:`BPMLP`; meant for CI and quick runs.
    """

    def __init__(self, hidden=(64, 64, 32), target: str = "total", physics: HolsteinParams | None = None,
                 init: str = "kaiming", init_std: float = 0.1, bias_std: float = 0.05,
                 extended: bool = False, seed: int | None = None, center=False):
        super().__init__(hidden=hidden, target=target, physics=physics, init=init, init_std=init_std,
                         bias_std=bias_std, extended=extended, seed=seed, center=center)
