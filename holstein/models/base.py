"""The one interface every force model shares: ``model(Q) -> F``.

A model maps a displacement field ``Q: (B, L, L)`` or ``(L, L)`` to forces of the same shape.
Subclasses implement one of

- ``predict(x) -> f``: direct forces, on the normalised field x = Q / q_scale, returning
  normalised forces f = F / f_scale (``(B, L, L)`` -> ``(B, L, L)``), or
- ``site_energy(x) -> e``: per-site energies ``(B, L, L)`` (energy models, ``energy_based = True``);
  then E = q_scale · f_scale · Σ_i e_i and F = -∂E/∂Q by autograd (:func:`forces_from_energy`).

With ``target="electronic"`` the model learns only g(n_i - 1/2) and the exact elastic force
-kQ_i - κ Σ_nn Q_j (``physics`` given) is added analytically.

Global input (an extension beyond the reference work): with ``center="mean"`` (or True) the
model sees x - mean(x), i.e. the configuration relative to its own mean displacement Q̄; with
``center="median"`` it sees x - median(x). A uniform shift Q_i -> Q_i + c moves every level by
-g c and μ with it, leaving n_i unchanged, so the electronic force is exactly invariant under
it; a strictly local model cannot know Q̄, which fluctuates by ~σ_Q/L in hot random
configurations. The median is the atomic-limit (t -> 0) estimate of μ: at half filling the
N/2 sites of largest Q_i are the filled ones, so n_i ≈ θ(Q_i - median Q). Use either with
``target="electronic"``.

Occupation head with a global μ (an extension beyond the reference work; ``head="occupation"``,
needs ``target="electronic"``). Instead of a force the network returns two numbers per site, a
local level ε_i (in units of g·q_scale) and a width w_i = kT + softplus(·), and

    n_i = 1 / (1 + e^{(ε_i - μ)/w_i}),      μ such that Σ_i n_i = N/2,      F^e_i = g (n_i - 1/2),

the atomic-limit form of the exact n_i, with μ found *globally* for every configuration
(:func:`half_filling_mu`: bisection without gradient, then one Newton step that carries the exact
implicit gradient ∂μ/∂ε_i = (∂n_i/∂ε_i) / Σ_j ∂n_j/∂ε_j). Half filling, hence Σ_i F^e_i = 0, holds
by construction, and the few sites whose levels lie within ~kT of μ (domain walls, hot spots)
share the remaining charge as in ED rather than guessing μ locally.

``q_scale`` and ``f_scale`` are buffers (saved with the weights) set by the training pipeline.
``config()`` returns the constructor arguments, so that a checkpoint rebuilds the model.
"""
from __future__ import annotations

import torch
from torch import nn

from ..filling import bisect_mu
from ..forces import elastic, elastic_energy, from_density
from ..lattice import check_field
from ..params import HolsteinParams

__all__ = ["ForceModel", "forces_from_energy", "half_filling_mu", "HEADS"]

HEADS = ("force", "occupation")
_MU_BISECTION_STEPS = 64


def half_filling_mu(eps: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """μ with Σ_i σ((μ - ε_i)/w_i) = N/2 for levels ``eps`` and widths ``w > 0`` of shape (B, L, L) -> (B,).

    Bisection (no gradient) on the bracket [min ε - 40 max w, max ε + 40 max w], then one Newton
    step with gradient, μ = μ* - (Σ n - N/2)/Σ ∂n/∂μ: its value is μ* to bisection precision and
    its derivatives are the implicit-function ones.
    """
    B, N = eps.shape[0], eps[0].numel()
    e, ww = eps.reshape(B, N), w.reshape(B, N)
    with torch.no_grad():
        pad = 40 * ww.amax(-1)
        mu = bisect_mu(lambda m: torch.sigmoid((m[:, None] - e) / ww).sum(-1), e.amin(-1) - pad, e.amax(-1) + pad,
                       N / 2, _MU_BISECTION_STEPS, early_stop=False)
    n = torch.sigmoid((mu[:, None] - e) / ww)  # (B, N)
    return mu - (n.sum(-1) - N / 2) / (n * (1 - n) / ww).sum(-1).clamp_min(torch.finfo(e.dtype).tiny)


def forces_from_energy(energy: torch.Tensor, Q: torch.Tensor, create_graph: bool = False) -> torch.Tensor:
    """F = -∂E/∂Q for a batch of energies ``energy: (B,)`` of fields ``Q: (B, L, L)``."""
    (grad,) = torch.autograd.grad(energy.sum(), Q, create_graph=create_graph)
    return -grad


class ForceModel(nn.Module):
    """Base class; see the module docstring."""

    energy_based = False
    center = False
    default_target = "total"  # the target when none is given (the training pipeline reads it)

    def __init__(self, target: str = "total", physics: HolsteinParams | None = None, head: str = "force"):
        super().__init__()
        if target not in ("total", "electronic"):
            raise ValueError(f"target must be 'total' or 'electronic', got {target!r}")
        if target == "electronic" and physics is None:
            raise ValueError("target='electronic' needs the HolsteinParams of the elastic force")
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if head == "occupation" and (target != "electronic" or self.energy_based):
            raise ValueError("head='occupation' predicts n_i: it needs target='electronic' and a direct-force model")
        self.head = head
        self.target = target
        self.physics = physics  # HolsteinParams of the exact elastic force (not nn.Module.parameters())
        self.register_buffer("q_scale", torch.tensor(1.0, dtype=torch.float64))
        self.register_buffer("f_scale", torch.tensor(1.0, dtype=torch.float64))
        self._config: dict = {"target": target, "physics": None if physics is None else physics.to_dict()}
        if head != "force":
            self._config["head"] = head

    # -- subclass hooks -------------------------------------------------------------------
    def predict(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def site_energy(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def set_center(self, how=True) -> "ForceModel":
        """Feed the model x - mean(x) (True or "mean") or x - median(x) ("median"); False: x itself.

        See the module docstring; recorded in :meth:`config`.
        """
        how = "mean" if how is True else how
        if how not in (False, None, "mean", "median"):
            raise ValueError(f"center must be False, True, 'mean' or 'median', got {how!r}")
        self.center = how or False
        self._config["center"] = self.center
        return self

    def _normalise(self, Q: torch.Tensor) -> torch.Tensor:
        x = Q / self.q_scale.to(Q.dtype)
        if self.center == "mean":
            return x - x.mean(dim=(-2, -1), keepdim=True)
        if self.center == "median":  # average of the two middle values (N is even)
            return x - torch.quantile(x.flatten(-2), 0.5, dim=-1)[..., None, None]
        return x

    # -- public API -----------------------------------------------------------------------
    def config(self) -> dict:
        """Constructor keyword arguments (JSON-able) that rebuild this model."""
        return dict(self._config)

    def _prepare(self, Q: torch.Tensor) -> tuple[torch.Tensor, bool]:
        if not isinstance(Q, torch.Tensor):
            raise TypeError(f"Q must be a torch.Tensor, got {type(Q).__name__}")
        check_field(Q)
        squeeze = Q.dim() == 2
        if squeeze:
            Q = Q[None]
        ref = next(self.parameters(), self.q_scale)
        return Q.to(dtype=ref.dtype, device=ref.device), squeeze

    def energy(self, Q: torch.Tensor) -> torch.Tensor:
        """Model energy E(Q): ``(B, L, L)`` -> ``(B,)`` (energy models only); F = -∂E/∂Q.

        With ``target="electronic"`` it includes the exact lattice potential V(Q).
        """
        if not self.energy_based:
            raise TypeError(f"{type(self).__name__} predicts forces directly and has no energy")
        Q, squeeze = self._prepare(Q)
        scale = (self.q_scale * self.f_scale).to(Q.dtype)
        E = scale * self.site_energy(self._normalise(Q)).sum(dim=(-2, -1))
        if self.target == "electronic":  # the exact lattice energy, whose gradient is the elastic force
            E = E + elastic_energy(Q, self.physics)
        return E[0] if squeeze else E

    def forward(self, Q: torch.Tensor) -> torch.Tensor:
        Qin_dtype = Q.dtype if isinstance(Q, torch.Tensor) else None
        Q, squeeze = self._prepare(Q)
        if self.energy_based:
            with torch.enable_grad():
                Qg = Q if Q.requires_grad else Q.detach().requires_grad_(True)
                scale = (self.q_scale * self.f_scale).to(Q.dtype)
                E = scale * self.site_energy(self._normalise(Qg)).sum(dim=(-2, -1))
                F = forces_from_energy(E, Qg, create_graph=self.training)
        elif self.head == "occupation":
            F = self._occupation_forces(self.predict(self._normalise(Q)), Q.dtype)
        else:
            F = self.f_scale.to(Q.dtype) * self.predict(self._normalise(Q))
        if self.target == "electronic":
            F = F + elastic(Q, self.physics)
        if Qin_dtype is not None and Qin_dtype.is_floating_point:
            F = F.to(Qin_dtype)
        return F[0] if squeeze else F

    def _occupation_forces(self, h: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """F^e_i = g (n_i - 1/2) from the raw outputs ``h: (B, L, L, 2)`` (levels, widths); see the module docstring."""
        p = self.physics
        eps = (p.g * self.q_scale.to(dtype)) * h[..., 0]  # (B, L, L) local levels
        w = max(p.kT, 1e-3) + nn.functional.softplus(h[..., 1])  # (B, L, L) widths >= kT
        mu = half_filling_mu(eps, w)  # (B,)
        n = torch.sigmoid((mu[:, None, None] - eps) / w)
        return from_density(n, None, p)

    def as_force_fn(self):
        """The model as a force function ``Q -> F`` (detached, Q's shape), the one every driver uses
        (dynamics, benchmarks, transfer check, notebooks): under ``torch.inference_mode`` for
        direct-force models, with autograd enabled for energy models (F = -∂E/∂Q)."""
        if self.energy_based:
            def fn(Q):
                with torch.enable_grad():
                    return self(Q).detach()
        else:
            def fn(Q):
                with torch.inference_mode():
                    return self(Q)
        fn.model = self
        return fn

    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())
