"""Lattices: geometry and symmetry. Each lattice owns its sites, neighbours, point group, stagger
and distance shells; physics, models and observables ask it.

- :mod:`.square`: the periodic L×L square lattice, fields ``(..., L, L)``, point group D4;
- :mod:`.honeycomb`: the periodic L×L×2 honeycomb lattice, fields ``(..., L, L, 2)`` indexed
  ``[x, y, s]`` (s = 0: A at R = x a1 + y a2; s = 1: B at R + δ), point group C6v.
"""
from .honeycomb import HoneycombLattice
from .square import (D4_OPS, SHELL_RADII2, SquareLattice, apply_d4, as_field, check_field, neighbour_sum,
                     shell_offsets, translate)

__all__ = ["SquareLattice", "HoneycombLattice", "as_field", "SHELL_RADII2", "shell_offsets", "neighbour_sum",
           "translate", "D4_OPS", "apply_d4", "check_field"]
