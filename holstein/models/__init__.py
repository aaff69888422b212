"""Registry of force models: ``build(name, **config)``, ``available()``.

Every model is a :class:`~holstein.models.base.ForceModel`: ``model(Q) -> F`` on ``(B, L, L)``
or ``(L, L)``. Modules register their classes with :func:`register`.

Modules: ``base`` (the interface, config recording, the energy), ``message_passing`` (the
stencil and PyG backends; torch_geometric only where ``pyg`` is used), ``gcn`` + ``occupation``
(the direct GCN and its global-μ read-out), ``energy_gnn``, ``bp_mlp``, ``lean`` (small
defaults), ``cost`` (MACs per site), ``checks`` (symmetry, backends, finite differences).
"""
from __future__ import annotations

from .base import ForceModel, forces_from_energy
from .checks import (backend_difference, check_equivariance, equivariance_deviation, finite_difference_error,
                     force_sensitivity)

__all__ = ["ForceModel", "forces_from_energy", "register", "build", "available", "REGISTRY", "check_equivariance",
           "equivariance_deviation", "backend_difference", "finite_difference_error", "force_sensitivity"]

REGISTRY: dict[str, type] = {}


def register(name: str):
    """Class decorator: make a ForceModel subclass buildable as ``build(name, ...)``."""

    def deco(cls):
        if name in REGISTRY:
            raise ValueError(f"model name {name!r} registered twice")
        cls.registry_name = name
        REGISTRY[name] = cls
        return cls

    return deco


def available() -> list[str]:
    return sorted(REGISTRY)


def build(name: str, **config) -> ForceModel:
    """Instantiate the registered model ``name`` with constructor arguments ``config``
    (``model.config()`` of a model rebuilds it; ``physics`` may be a HolsteinParams or its dict)."""
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {available()}") from None
    return cls(**config)


# model modules register themselves on import
from . import bp_mlp, energy_gnn, gcn, lean  # noqa: E402,F401
