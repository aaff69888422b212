r"""Geometry and symmetry of the periodic honeycomb lattice of L×L unit cells (N = 2L² sites).

Convention (fields of shape ``(..., L, L, 2)``, indexed ``[x, y, s]``, flat index
``i = (x L + y) 2 + s``): bond length 1, Bravais vectors a1 = √3 (1, 0), a2 = √3 (1/2, √3/2);
s = 0 is sublattice A at R = x a1 + y a2 and s = 1 is B at R + δ with δ = (a1 + a2)/3 =
(√3/2, 1/2). The three neighbours of A(x, y) are B(x, y), B(x−1, y) and B(x, y−1) (bond vectors
δ, δ − a1, δ − a2, all of length 1), periodic in x and y. The stagger is +1 on A, −1 on B.

The point group C6v (12 elements) acts about a hexagon centre, c = −δ: rotations by k·60°
(k = 0..5) and the same after the mirror y -> −y through c. Odd rotations exchange the
sublattices. The L×L torus spanned by L a1 and L a2 is invariant under all of them, so each is a
permutation of the sites (:attr:`HoneycombLattice.point_group`), as are the L² translations.

At uniform displacement the one-body spectrum of H = −t Σ_<ij> (c†_i c_j + h.c.) is the two
Dirac bands ε±(k) = ±t |1 + e^{i k·a1} + e^{i k·a2}| on the grid k·a_j = 2π m_j / L; they touch
at K where 1 + e^{iθ1} + e^{iθ2} = 0 (θ1 = −θ2 = 2π/3), present on the grid when 3 | L.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

from .square import _is_torch, check_finite_real, translate

__all__ = ["HoneycombLattice", "neighbour_sum", "check_field"]

A1 = np.sqrt(3.0) * np.array([1.0, 0.0])
A2 = np.sqrt(3.0) * np.array([0.5, np.sqrt(3.0) / 2])
DELTA = (A1 + A2) / 3


def neighbour_sum(a):
    """Σ_{j ∈ nn(i)} a_j over the 3 neighbours, for ``a`` of shape (..., L, L, 2): on A(x, y) the B at
    (x, y), (x−1, y), (x, y−1); on B(x, y) the A at (x, y), (x+1, y), (x, y+1)."""
    A, B = a[..., 0], a[..., 1]
    nA = B + translate(B, 1, 0) + translate(B, 0, 1)
    nB = A + translate(A, -1, 0) + translate(A, 0, -1)
    if _is_torch(a):
        import torch

        return torch.stack([nA, nB], -1)
    return np.stack([nA, nB], -1)


def check_field(Q, name: str = "Q") -> int:
    """Validate a honeycomb field of shape (L, L, 2) or (B, L, L, 2); return L (the same refusals as the
    square lattice's :func:`~holstein.lattice.square.check_field` for dtype and non-finite values)."""
    shape = tuple(Q.shape)
    if len(shape) not in (3, 4) or shape[-1] != 2 or shape[-2] != shape[-3] or shape[-2] < 2:
        raise ValueError(f"{name} must be a honeycomb field of shape (L, L, 2) or (B, L, L, 2), L >= 2, got {shape}")
    check_finite_real(Q, name)
    return shape[-2]


class HoneycombLattice:
    """Periodic honeycomb lattice of L×L cells (L >= 2), 2L² sites (module docstring).

    Example:
        >>> lat = HoneycombLattice(3)
        >>> lat.N, lat.neighbours.shape, len(lat.point_group)
        (18, (18, 3), 12)
    """

    name = "honeycomb"
    z = 3  # neighbours per site
    site_axes = (-3, -2, -1)  # a field is (..., L, L, 2)
    neighbour_sum = staticmethod(neighbour_sum)
    check_field = staticmethod(check_field)

    @staticmethod
    def field_shape(L: int) -> tuple[int, int, int]:
        return (L, L, 2)

    def __init__(self, L: int):
        if isinstance(L, bool) or not isinstance(L, (int, np.integer)):
            raise TypeError(f"L must be an integer, got {L!r}")
        if L < 2:
            raise ValueError(f"L must be >= 2 cells, got {L}")
        self.L = int(L)
        self.N = 2 * self.L * self.L

    def __repr__(self) -> str:
        return f"HoneycombLattice(L={self.L})"

    def index(self, x, y, s):
        """Flat site index ``((x mod L) L + (y mod L)) 2 + s``."""
        return ((np.asarray(x) % self.L) * self.L + (np.asarray(y) % self.L)) * 2 + np.asarray(s)

    def coords(self, i):
        """Inverse of :meth:`index`: ``(x, y, s)``."""
        i = np.asarray(i)
        return (i // 2) // self.L, (i // 2) % self.L, i % 2

    @cached_property
    def positions(self) -> np.ndarray:
        """(N, 2) site positions x a1 + y a2 + s δ (bond length 1)."""
        x, y, s = self.coords(np.arange(self.N))
        return x[:, None] * A1 + y[:, None] * A2 + s[:, None] * DELTA

    @cached_property
    def neighbours(self) -> np.ndarray:
        """(N, 3) flat indices of the three neighbours: of A(x, y) the B at (x, y), (x−1, y), (x, y−1);
        of B(x, y) the A at (x, y), (x+1, y), (x, y+1)."""
        x, y, s = self.coords(np.arange(self.N))
        sign = np.where(s == 0, -1, 1)
        other = 1 - s
        return np.stack([self.index(x, y, other), self.index(x + sign, y, other), self.index(x, y + sign, other)],
                        axis=1)

    @cached_property
    def stagger(self) -> np.ndarray:
        """(L, L, 2) sublattice sign: +1 on A, −1 on B."""
        out = np.ones((self.L, self.L, 2))
        out[..., 1] = -1.0
        return out

    def hopping_matrix(self, t: float = 1.0) -> np.ndarray:
        """(N, N) one-body hopping −t Σ_<ij> (c†_i c_j + h.c.); bonds that wrap twice at small L add up."""
        K = np.zeros((self.N, self.N))
        rows = np.repeat(np.arange(self.N), 3)
        np.add.at(K, (rows, self.neighbours.ravel()), -t)
        return K

    def band_energies(self, t: float = 1.0) -> np.ndarray:
        """(L, L) upper Dirac band t |1 + e^{i k·a1} + e^{i k·a2}| on the L×L grid of cell momenta k."""
        th = 2 * np.pi * np.arange(self.L) / self.L
        return t * np.abs(1 + np.exp(1j * th)[:, None] + np.exp(1j * th)[None, :])

    def bands(self, t: float = 1.0) -> np.ndarray:
        """(N,) sorted one-body levels at uniform Q: both Dirac bands ±:meth:`band_energies`."""
        f = self.band_energies(t).ravel()
        return np.sort(np.concatenate([-f, f]))

    def _fractional(self, r: np.ndarray) -> np.ndarray:
        """Positions ``r: (n, 2)`` -> (x, y, s) by solving r = x a1 + y a2 + s δ with integers (mod L)."""
        M = np.stack([A1, A2], axis=1)  # columns a1, a2
        out = []
        for s in (0, 1):
            xy = np.linalg.solve(M, (r - s * DELTA).T).T
            out.append((xy, np.abs(xy - np.round(xy)).max(axis=1)))
        s = np.where(out[0][1] < 1e-8, 0, 1)
        xy = np.where((s == 0)[:, None], out[0][0], out[1][0])
        if np.abs(xy - np.round(xy)).max() > 1e-8:
            raise ValueError("an operation maps a site off the lattice")
        xy = np.round(xy).astype(np.int64) % self.L
        return np.stack([xy[:, 0], xy[:, 1], s], axis=1)

    @cached_property
    def point_group(self) -> list[np.ndarray]:
        """The 12 operations of C6v about the hexagon centre −δ as site permutations ``perm (N,)``:
        site i goes to ``perm[i]`` (a field transforms as ``F'[perm] = F``). Rotations by k·60°,
        k = 0..5, then each after the mirror y -> −y."""
        c = -DELTA
        r = self.positions - c
        ops = []
        for mirror in (False, True):
            rm = r * np.array([1.0, -1.0]) if mirror else r
            for k in range(6):
                a = k * np.pi / 3
                R = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
                x, y, s = self._fractional(rm @ R.T + c).T
                ops.append(self.index(x, y, s))
        return ops

    def apply(self, field, perm: np.ndarray):
        """The field ``(..., L, L, 2)`` moved by the site permutation ``perm`` (numpy or torch)."""
        flat = field.reshape(*field.shape[:-3], self.N)
        inv = np.argsort(perm)
        out = flat[..., inv]
        return out.reshape(field.shape)

    def translate(self, field, dx: int, dy: int):
        """The field ``(..., L, L, 2)`` shifted by dx a1 + dy a2 (periodic)."""
        x, y, s = self.coords(np.arange(self.N))
        return self.apply(field, self.index(x + dx, y + dy, s))

    @cached_property
    def distances(self) -> np.ndarray:
        """(N,) minimum-image distance of every site from site 0 (A at the origin)."""
        d = self.positions - self.positions[0]
        best = np.full(self.N, np.inf)
        for i in (-1, 0, 1):
            for j in (-1, 0, 1):
                best = np.minimum(best, np.linalg.norm(d + self.L * (i * A1 + j * A2), axis=1))
        return best

    def shells(self, r_max: float = 3.0) -> list[tuple[float, np.ndarray]]:
        """Distance shells around site 0 up to ``r_max``: [(r, flat indices)], r ascending (r = 1: the 3
        neighbours, √3: the 6 next-nearest, 2: 3 sites, ...)."""
        d = np.round(self.distances, 9)
        return [(float(r), np.flatnonzero(d == r)) for r in np.unique(d) if 0 < r <= r_max + 1e-9]
