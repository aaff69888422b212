"""Registry of force models: ``build(name, **config)``, ``available()``.

Every model is a :class:`~holstein.models.base.ForceModel`: ``model(Q) -> F`` on ``(B, L, L)``
or ``(L, L)``. Modules register their classes with :func:`register`.
"""
from __future__ import annotations

from .base import ForceModel, forces_from_energy

__all__ = ["ForceModel", "forces_from_energy", "register", "build", "available", "REGISTRY"]

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
    """Instantiate the registered model ``name`` with constructor arguments ``config``."""
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available: {available()}") from None
    config = dict(config)
    physics = config.pop("physics", None)
    center = config.pop("center", False)
    if isinstance(physics, dict):
        from ..params import HolsteinParams

        physics = HolsteinParams(**physics)
    return cls(physics=physics, **config).set_center(center)


# model modules register themselves on import
from . import bp_mlp, energy_gnn, gcn, lean  # noqa: E402,F401
