r"""Coarsening observables on the honeycomb lattice, for fields ``(..., L, L, 2)`` indexed ``[x, y, s]``.

The CDW is a sublattice imbalance, Q_i ≈ ±Q0 s_i with s_i = +1 on A and -1 on B, so the ordering
vector is q = 0 of the staggered field s_i Q_i. The functions mirror the square lattice's in
:mod:`holstein.observables` (which dispatches here for ``lattice="honeycomb"``):

* φ_i = s_i (Q_i - (1/3) Σ_{j∈nn(i)} Q_j) / 2 (= ±Q0 inside a domain; a uniform offset drops out);
* m = |(1/N) Σ_i s_i Q_i|, N = 2L²;
* C(r) = ⟨φ_i φ_j⟩_{|r_i - r_j| = r} / ⟨φ²⟩ over all site pairs at minimum-image distance r
  (bond length 1), from the four sublattice cross-correlations by FFT;
* S(k) = (1/N) |Σ_i s_i (Q_i - Q̄) e^{-i k·r_i}|² on the L×L grid of cell momenta, peaked at k = 0
  with S(0) = N m², radially averaged in |k| (1/bond length).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..lattice.honeycomb import A1, A2, DELTA, HoneycombLattice, check_field, neighbour_sum

__all__ = ["local_cdw", "cdw_order", "structure_factor", "correlation", "structure_factor_radial"]


def as_field(Q, name: str = "Q") -> np.ndarray:
    """Torch/numpy -> validated float64 numpy ``(..., L, L, 2)``."""
    if type(Q).__module__.startswith("torch"):
        Q = Q.detach().cpu().numpy()
    Q = np.asarray(Q).astype(np.float64, copy=False)
    check_field(Q.reshape((-1,) + Q.shape[-3:]) if Q.ndim >= 3 else Q, name)
    return Q


def _stagger(L: int) -> np.ndarray:
    return HoneycombLattice(L).stagger


def local_cdw(Q) -> np.ndarray:
    """φ_i = s_i (Q_i - (1/3) Σ_nn Q_j) / 2. ``(..., L, L, 2)`` -> same."""
    Q = as_field(Q)
    return 0.5 * _stagger(Q.shape[-2]) * (Q - neighbour_sum(Q) / 3)


def cdw_order(Q) -> np.ndarray | float:
    """m = |(1/N) Σ_i s_i Q_i|. ``(L, L, 2)`` -> float; ``(..., L, L, 2)`` -> ``(...)``."""
    Q = as_field(Q)
    m = np.abs((_stagger(Q.shape[-2]) * Q).mean(axis=(-3, -2, -1)))
    return float(m) if m.ndim == 0 else m


def structure_factor(Q, subtract_mean: bool = True) -> np.ndarray:
    """S(k) of the staggered field. ``(..., L, L, 2)`` -> ``(..., L, L)``, S[..., m1, m2] at the cell
    momentum k with k·a_j = 2π m_j / L (FFT order; k = 0 at [0, 0] holds N m²)."""
    Q = as_field(Q)
    if subtract_mean:
        Q = Q - Q.mean(axis=(-3, -2, -1), keepdims=True)
    L = Q.shape[-2]
    m = np.arange(L)
    phase = np.exp(-2j * np.pi * (m[:, None] + m[None, :]) / (3 * L))  # e^{-i k·δ}, k·δ = (k·a1 + k·a2)/3
    amp = np.fft.fft2(Q[..., 0], axes=(-2, -1)) - phase * np.fft.fft2(Q[..., 1], axes=(-2, -1))
    return (amp.real ** 2 + amp.imag ** 2) / (2 * L * L)


def _shell_mean(values: np.ndarray, index: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per row of ``values (B, M)`` the mean over each shell: entries m with ``index[m] = j`` -> ``(B, n)``."""
    B, n = values.shape[0], counts.size
    sums = np.bincount((np.arange(B)[:, None] * n + index[None, :]).ravel(), weights=values.ravel(), minlength=B * n)
    return sums.reshape(B, n) / counts


@lru_cache(maxsize=32)
def _pair_bins(L: int, dr: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(r (n_r,), bin index (2, 2, L, L), pair counts per cell (n_r,)) of the minimum-image distances
    |Δx a1 + Δy a2 + (s' - s) δ| from sublattice s of a cell to sublattice s' of the cell Δ away."""
    d = np.arange(L)
    best = np.full((2, 2, L, L), np.inf)
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            R = (d[:, None, None] + i * L) * A1 + (d[None, :, None] + j * L) * A2  # (L, L, 2)
            for s in (0, 1):
                for t in (0, 1):
                    best[s, t] = np.minimum(best[s, t], np.linalg.norm(R + (t - s) * DELTA, axis=-1))
    key = np.round(best.ravel() ** 2, 6) if dr is None else np.rint(best.ravel() / dr).astype(np.int64)
    _, inverse = np.unique(key, return_inverse=True)
    counts = np.bincount(inverse)
    return np.bincount(inverse, weights=best.ravel()) / counts, inverse.reshape(best.shape), counts


def correlation(Q, use_phi: bool = True, average_batch: bool = True,
                dr: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """C(r), C(0) = 1, over site pairs at distance r (``use_phi=False``: the staggered s_i (Q_i - Q̄)
    instead of φ). ``(..., L, L, 2)`` -> ``(r (n_r,), C (n_r,))``, or C ``(..., n_r)`` per field."""
    Q = as_field(Q)
    L = Q.shape[-2]
    phi = local_cdw(Q) if use_phi else _stagger(L) * (Q - Q.mean(axis=(-3, -2, -1), keepdims=True))
    pk = np.fft.fft2(phi, axes=(-3, -2))  # (..., L, L, 2)
    # M[s, t](Δ) = Σ_R φ_s(R) φ_t(R + Δ), by the cross-correlation theorem
    M = np.stack([np.stack([np.fft.ifft2(np.conj(pk[..., s]) * pk[..., t], axes=(-2, -1)).real for t in (0, 1)], -3)
                  for s in (0, 1)], -4)  # (..., 2, 2, L, L)
    if average_batch and M.ndim > 4:
        M = M.reshape((-1,) + M.shape[-4:]).mean(axis=0)
    r, idx, counts = _pair_bins(L, dr)
    sums = _shell_mean(M.reshape(-1, idx.size), idx.ravel(), counts)
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.where(sums[:, :1] > 0, sums / np.where(sums[:, :1] > 0, sums[:, :1], 1.0), np.nan)
    return r, C.reshape(M.shape[:-4] + (r.size,))


@lru_cache(maxsize=32)
def _k_bins(L: int, dr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k (n_k,), bin index (L²,), counts (n_k,)) of the minimum-image |k| of the L×L cell momenta in shells
    of width ``dr`` · (2π / √3 L)."""
    b = 2 * np.pi * np.linalg.inv(np.stack([A1, A2])).T  # rows b1, b2: b_i·a_j = 2π δ_ij
    m = np.arange(L)
    m = np.where(m > L // 2, m - L, m)
    kabs = np.full((L, L), np.inf)
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            k = ((m[:, None, None] + i * L) * b[0] + (m[None, :, None] + j * L) * b[1]) / L
            kabs = np.minimum(kabs, np.linalg.norm(k, axis=-1))
    unit = dr * np.linalg.norm(b[0]) / L
    _, inverse = np.unique(np.rint(kabs.ravel() / unit).astype(np.int64), return_inverse=True)
    counts = np.bincount(inverse)
    return np.bincount(inverse, weights=kabs.ravel()) / counts, inverse, counts


def structure_factor_radial(Q, dr: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k (n_k,), S (..., n_k), S(0) (...)): :func:`structure_factor` averaged over shells of the
    minimum-image |k| of width ``dr`` · (2π / √3 L), k in 1/bond length."""
    S = structure_factor(Q)
    L = S.shape[-1]
    kk, inverse, counts = _k_bins(L, float(dr))
    shells = _shell_mean(S.reshape(-1, L * L), inverse, counts)
    return kk, shells.reshape(S.shape[:-2] + (counts.size,)), S[..., 0, 0]
