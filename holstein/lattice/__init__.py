"""Lattices: geometry and symmetry. Each lattice owns its sites, neighbours, point group, stagger
and distance shells; physics, models and observables ask it.

- :mod:`.square`: the periodic L×L square lattice, fields ``(..., L, L)``, point group D4;
- :mod:`.honeycomb`: the periodic L×L×2 honeycomb lattice, fields ``(..., L, L, 2)`` indexed
  ``[x, y, s]`` (s = 0: A at R = x a1 + y a2; s = 1: B at R + δ), point group C6v.

A lattice is named by ``HolsteinParams.lattice`` ("square" or "honeycomb"); :func:`get` turns the
name into its class, whose class attributes say what every physics function needs: ``z``
(neighbours per site), ``site_axes`` (the trailing axes of a field), ``field_shape(L)``,
``neighbour_sum(a)`` and ``check_field(Q) -> L``.
"""
import numpy as np

from .honeycomb import HoneycombLattice
from .square import (D4_OPS, SHELL_RADII2, SquareLattice, apply_d4, check_field, neighbour_sum, shell_offsets,
                     translate)

__all__ = ["LATTICES", "get", "as_field", "SquareLattice", "HoneycombLattice", "SHELL_RADII2", "shell_offsets",
           "neighbour_sum", "translate", "D4_OPS", "apply_d4", "check_field"]

LATTICES = {"square": SquareLattice, "honeycomb": HoneycombLattice}


def get(name: str):
    """The lattice class of ``name`` ("square" or "honeycomb")."""
    try:
        return LATTICES[name]
    except KeyError:
        raise ValueError(f"unknown lattice {name!r}; choose one of {sorted(LATTICES)}") from None


def as_field(Q, dtype=None, lattice: str = "square"):
    """``Q`` (array-like or tensor) as a validated real torch field of ``lattice``: ``(L, L)`` or
    ``(B, L, L)`` on the square lattice, ``(L, L, 2)`` or ``(B, L, L, 2)`` on the honeycomb.

    Integers become float64, ``dtype`` converts; complex and half-precision input is refused by the
    lattice's ``check_field`` *before* any conversion (so an imaginary part is never dropped silently).
    """
    import torch

    if not isinstance(Q, torch.Tensor):
        Q = torch.as_tensor(np.asarray(Q))
    get(lattice).check_field(Q)
    if dtype is not None:
        return Q.to(dtype)
    return Q if Q.is_floating_point() else Q.to(torch.float64)
