"""Elastic (lattice) part of the Holstein forces and energy: a nearest-neighbour stencil.

    V(Q) = (k/2) Σ_i Q_i² + κ Σ_<ij> Q_i Q_j = (k/2) Σ_i Q_i² + (κ/2) Σ_i Q_i Σ_{j∈nn(i)} Q_j
    F^el_i = -∂V/∂Q_i = -k Q_i - κ Σ_{j∈nn(i)} Q_j

and the one place where a density becomes a force (ED, KPM, datasets and models all call it):

    F_i = g (n_i - 1/2) + F^el_i        (:func:`from_density`).

The lattice is ``p.lattice``: Σ_{j∈nn(i)} runs over its z neighbours (4 square, 3 honeycomb) and a
field has its shape, ``(..., L, L)`` or ``(..., L, L, 2)``.
"""
from __future__ import annotations

from .lattice import get
from .params import HolsteinParams

__all__ = ["elastic", "elastic_energy", "kinetic_energy", "from_density"]


def elastic(Q, p: HolsteinParams):
    """Elastic force -k Q_i - κ Σ_nn Q_j. ``Q: (..., L, L)`` -> same shape."""
    return -p.k * Q - p.kappa * get(p.lattice).neighbour_sum(Q)


def elastic_energy(Q, p: HolsteinParams):
    """Lattice potential energy V(Q), summed over sites. ``Q: (..., L, L)`` -> ``(...)``."""
    lat = get(p.lattice)
    return (0.5 * p.k * Q * Q + 0.5 * p.kappa * Q * lat.neighbour_sum(Q)).sum(axis=lat.site_axes)


def kinetic_energy(V, p: HolsteinParams):
    """Ionic kinetic energy Σ_i m V_i² / 2 for velocities ``V: (..., L, L)`` -> ``(...)``."""
    return 0.5 * p.mass * (V * V).sum(axis=get(p.lattice).site_axes)


def from_density(n, Q, p: HolsteinParams):
    """Force F_i = g (n_i - 1/2) - k Q_i - κ Σ_nn Q_j from densities ``n: (..., L, L)``.

    ``Q`` None gives the electronic part g (n_i - 1/2) alone. numpy or torch; same shape as n.
    """
    Fe = p.g * (n - 0.5)
    return Fe if Q is None else Fe + elastic(Q, p)
