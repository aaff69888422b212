"""Geometry and symmetry of the periodic L×L square lattice.

Fields live on arrays of shape ``(..., L, L)`` (numpy or torch): axis -2 is x, axis -1 is y,
and the flat site index is ``i = x * L + y``. Every symmetry operation here (the 8 elements
of the point group D4 and the translations) permutes sites and maps nearest neighbours to
nearest neighbours, so physical scalar fields (Q, n, F) transform as ``F(gQ) = g F(Q)``.
"""
from __future__ import annotations

from functools import cached_property

import numpy as np

__all__ = ["SquareLattice", "SHELL_RADII2", "shell_offsets", "neighbour_sum", "translate", "D4_OPS",
           "apply_d4", "check_field", "check_finite_real"]

#: Squared radii of the 8 neighbour shells within the cutoff r <= √13.
SHELL_RADII2 = (1, 2, 4, 5, 8, 9, 10, 13)


def shell_offsets() -> list[np.ndarray]:
    """The 8 neighbour shells out to r² = 13 as integer offsets ``(dx, dy)``.

    Shell sizes are 4, 4, 4, 8, 4, 4, 8, 8 (44 sites, 45 with the centre). Within a shell the
    offsets are ordered by polar angle starting from the +x axis, so that the 90° rotation
    (dx, dy) -> (-dy, dx) is a cyclic shift of each 4-site shell.
    """
    shells = []
    for r2 in SHELL_RADII2:
        offs = [(dx, dy) for dx in range(-4, 5) for dy in range(-4, 5) if dx * dx + dy * dy == r2]
        offs.sort(key=lambda o: np.arctan2(o[1], o[0]) % (2 * np.pi))
        shells.append(np.array(offs, dtype=np.int64))
    return shells


def _is_torch(a) -> bool:
    return type(a).__module__.startswith("torch")


def translate(a, dx: int, dy: int):
    """Translate a field: ``out[x, y] = a[x - dx, y - dy]`` (periodic)."""
    if _is_torch(a):
        import torch

        return torch.roll(a, shifts=(dx, dy), dims=(-2, -1))
    return np.roll(a, shift=(dx, dy), axis=(-2, -1))


def neighbour_sum(a):
    """Σ_{j ∈ nn(i)} a_j over the 4 nearest neighbours, for ``a`` of shape (..., L, L)."""
    return (translate(a, 1, 0) + translate(a, -1, 0) + translate(a, 0, 1) + translate(a, 0, -1))


def _rot(a, k):
    if _is_torch(a):
        import torch

        return torch.rot90(a, k, dims=(-2, -1))
    return np.rot90(a, k, axes=(-2, -1))


def _flip(a):
    if _is_torch(a):
        import torch

        return torch.flip(a, dims=(-2,))
    return np.flip(a, axis=-2)


#: Names of the 8 operations of D4, in the order of :data:`D4_OPS`.
D4_NAMES = ("E", "C4", "C2", "C4^3", "σx", "σd", "σy", "σd'")
#: The 8 elements of D4 acting on (..., L, L) arrays: rotations by 0, 90, 180, 270 degrees,
#: then the same rotations after the mirror x -> -x.
D4_OPS = tuple(
    (lambda a, k=k, m=m: _rot(_flip(a) if m else a, k)) for m in (0, 1) for k in range(4)
)


def apply_d4(a, op: int):
    """Apply the ``op``-th element of D4 (0..7) to a field of shape (..., L, L)."""
    return D4_OPS[op](a)


def check_finite_real(Q, name: str = "Q") -> None:
    """Refuse a complex or half-precision dtype and NaN or infinite entries (any lattice's fields)."""
    dtype = Q.dtype
    if (dtype.is_complex if _is_torch(Q) else np.iscomplexobj(Q)):
        raise ValueError(f"{name} must be real, got the complex dtype {dtype}")
    if str(dtype).replace("torch.", "") in ("float16", "bfloat16"):
        raise ValueError(f"{name} has dtype {dtype}, too coarse for forces and dynamics; use float32 or float64")
    finite = bool(Q.isfinite().all()) if _is_torch(Q) else bool(np.isfinite(Q).all())
    if not finite:
        raise ValueError(f"{name} contains NaN or infinite values")


def check_field(Q, name: str = "Q") -> int:
    """Validate a lattice field of shape (L, L) or (B, L, L); return L.

    Raises ValueError with a clear message for a complex or half-precision dtype, a wrong rank, a
    non-square or odd lattice, and for NaN or infinite entries.
    """
    check_finite_real(Q, name)
    shape = tuple(Q.shape)
    if len(shape) not in (2, 3):
        raise ValueError(f"{name} must have shape (L, L) or (B, L, L), got {shape}")
    if shape[-1] != shape[-2]:
        raise ValueError(f"{name} must be square in its last two dims, got {shape}")
    L = shape[-1]
    if L < 2 or L % 2:
        raise ValueError(f"{name}: L must be even and >= 2 (half-filled CDW), got L={L}")
    return L


class SquareLattice:
    """Periodic L×L square lattice (L even, L >= 2).

    Example:
        >>> lat = SquareLattice(4)
        >>> lat.N, lat.neighbours.shape
        (16, (16, 4))
    """

    name = "square"
    z = 4  # neighbours per site
    site_axes = (-2, -1)  # a field is (..., L, L)
    check_field = staticmethod(check_field)

    @staticmethod
    def field_shape(L: int) -> tuple[int, int]:
        return (L, L)

    def __init__(self, L: int):
        if isinstance(L, bool) or not isinstance(L, (int, np.integer)):
            raise TypeError(f"L must be an integer, got {L!r}")
        if L < 2 or L % 2:
            raise ValueError(f"L must be even and >= 2 (the half-filled CDW needs two sublattices), got {L}")
        self.L = int(L)
        self.N = self.L * self.L

    def __repr__(self) -> str:
        return f"SquareLattice(L={self.L})"

    def index(self, x, y):
        """Flat site index ``i = (x mod L) * L + (y mod L)``."""
        return (np.asarray(x) % self.L) * self.L + (np.asarray(y) % self.L)

    def coords(self, i):
        """Inverse of :meth:`index`: ``(x, y)``."""
        i = np.asarray(i)
        return i // self.L, i % self.L

    @cached_property
    def neighbours(self) -> np.ndarray:
        """(N, 4) flat indices of the neighbours at +x, -x, +y, -y."""
        x, y = self.coords(np.arange(self.N))
        return np.stack([self.index(x + 1, y), self.index(x - 1, y),
                         self.index(x, y + 1), self.index(x, y - 1)], axis=1)

    @cached_property
    def shells(self) -> list[np.ndarray]:
        """The 8 shells as offsets (see :func:`shell_offsets`)."""
        return shell_offsets()

    @cached_property
    def shell_sites(self) -> np.ndarray:
        """(N, 45) flat indices: the site itself, then the 44 sites of the 8 shells in order."""
        offs = np.concatenate([np.zeros((1, 2), np.int64)] + self.shells)  # (45, 2)
        x, y = self.coords(np.arange(self.N))
        return self.index(x[:, None] + offs[:, 0], y[:, None] + offs[:, 1])

    @cached_property
    def stagger(self) -> np.ndarray:
        """(L, L) checkerboard sign (-1)^(x+y)."""
        x, y = np.meshgrid(np.arange(self.L), np.arange(self.L), indexing="ij")
        return (1 - 2 * ((x + y) % 2)).astype(np.float64)

    def band_energies(self, t: float = 1.0) -> np.ndarray:
        """(L, L) ε_k = -2t(cos kx + cos ky) on the grid k = 2π(m, n)/L: the levels at uniform Q."""
        k = 2 * np.pi * np.arange(self.L) / self.L
        return -2 * t * (np.cos(k)[:, None] + np.cos(k)[None, :])

    def bands(self, t: float = 1.0) -> np.ndarray:
        """(N,) sorted one-body levels at uniform Q (:meth:`band_energies`)."""
        return np.sort(self.band_energies(t).ravel())

    def hopping_matrix(self, t: float = 1.0) -> np.ndarray:
        """(N, N) one-body hopping -t Σ_<ij>(c†_i c_j + h.c.); bonds that wrap twice at L = 2 add up."""
        K = np.zeros((self.N, self.N))
        rows = np.repeat(np.arange(self.N), 4)
        np.add.at(K, (rows, self.neighbours.ravel()), -t)
        return K

    # symmetry operations, re-exported for convenience
    translate = staticmethod(translate)
    neighbour_sum = staticmethod(neighbour_sum)
    d4_ops = D4_OPS
