"""Observables of CDW coarsening: local order φ_i, S(q), C(r, t), domain size L(t), α fit, collapse.

After a quench the half-filled Holstein model orders into checkerboard charge-density-wave
domains, ``Q_i ≈ ±Q0 (-1)^(x_i+y_i)``. The functions here turn a snapshot (or a batch of
snapshots) into the quantities of a coarsening study:

* :func:`local_cdw` — the local staggered order φ_i (``= ±Q0`` inside a domain);
* :func:`cdw_order` — the global order parameter ``|⟨(-1)^(x+y) Q⟩|``;
* :func:`structure_factor` — ``S(q)``, peaked at ``(π, π)``;
* :func:`correlation_map` / :func:`correlation` — ``C(Δ)`` and its radial average ``C(r)``;
* :func:`domain_size` — ``L(t)`` from ``C(L) = 1/2``;
* :func:`fit_power_law` — ``y = A x^b`` on log–log axes with a standard error, and
  :func:`fit_growth_exponent` — ``L ~ t^α`` through it;
* :func:`scaling_collapse` — ``C(r / L(t))``.

``lattice="honeycomb"`` (``p.lattice``) takes fields ``(..., L, L, 2)`` to the same quantities on
the honeycomb (:mod:`holstein.observables.honeycomb`); the fits (:mod:`.fits`) take numbers.

Every function accepts a numpy array or a torch tensor of shape ``(L, L)`` or ``(..., L, L)``
(axis -2 is x, axis -1 is y; L even), converts torch input with
``.detach().cpu().numpy()`` at entry, computes in float64 and returns numpy. Lengths are in
lattice spacings, time in units of 1/t (ħ = 1, t the hopping).
"""
from __future__ import annotations

import numpy as np

from ..lattice import SquareLattice, check_field, neighbour_sum
from . import honeycomb as _hc
from .fits import GrowthFit, PowerLawFit, fit_growth_exponent, fit_power_law, scaling_collapse

__all__ = ["local_cdw", "cdw_order", "q_grid", "structure_factor", "correlation_map", "radial_average", "radial_bins",
           "correlation", "domain_size", "PowerLawFit", "fit_power_law", "GrowthFit", "fit_growth_exponent",
           "scaling_collapse"]


# ----------------------------------------------------------------------------- input handling
def _as_field(Q, name: str = "Q") -> np.ndarray:
    """Torch/numpy/array-like -> float64 numpy array of shape (..., L, L), validated.

    Raises ValueError for rank < 2, a non-square or odd lattice, or NaN/inf entries.
    """
    if type(Q).__module__.startswith("torch"):
        Q = Q.detach().cpu().numpy()
    Q = np.asarray(Q)
    if np.iscomplexobj(Q):
        raise ValueError(f"{name} must be real, got dtype {Q.dtype}")
    Q = Q.astype(np.float64, copy=False)
    if Q.ndim < 2:
        raise ValueError(f"{name} must have shape (L, L) or (..., L, L), got {Q.shape}")
    check_field(Q.reshape((-1,) + Q.shape[-2:]), name)  # square, L even >= 2, finite
    return Q


# ----------------------------------------------------------------------------- order parameters
def local_cdw(Q, lattice: str = "square") -> np.ndarray:
    """Local CDW order parameter φ_i.

        φ_i = (-1)^(x_i + y_i) · ( Q_i - (1/4) Σ_{j ∈ nn(i)} Q_j ) / 2

    The site value is compared with the mean of its 4 nearest neighbours, so a uniform offset
    of Q drops out, and staggered so that both sublattices of one domain have the same sign.
    Normalisation: for a perfect checkerboard ``Q_i = Q0 (-1)^(x+y) + c`` one gets φ_i = Q0 on
    every site; in a domain of the opposite phase φ_i = -Q0; at a straight domain wall the two
    wall columns carry ±(3/4) Q0. Works equally on the density n_i (then φ is the staggered
    density modulation, δn for n_i = 1/2 + δn (-1)^(x+y)).

    Q: (L, L) or (..., L, L)  ->  φ: same shape, numpy float64. ``lattice="honeycomb"``:
    :func:`holstein.observables.honeycomb.local_cdw` (the same with 3 neighbours and s = ±1 on A/B).
    """
    if lattice == "honeycomb":
        return _hc.local_cdw(Q)
    Q = _as_field(Q)
    s = SquareLattice(Q.shape[-1]).stagger
    return 0.5 * s * (Q - 0.25 * neighbour_sum(Q))


def cdw_order(Q, lattice: str = "square") -> np.ndarray | float:
    """Global CDW order parameter m = | (1/N) Σ_i (-1)^(x_i+y_i) Q_i |, per batch element.

    For L even, Σ_i (-1)^(x+y) = 0, so a uniform offset of Q drops out; equivalently
    m = |mean_i φ_i| with φ from :func:`local_cdw`. A perfect checkerboard of amplitude Q0
    gives m = |Q0|; two equal domains of opposite phase give m = 0.

    Q: (L, L) -> float;  (..., L, L) -> (...) numpy array (honeycomb: ``(..., L, L, 2)``, s = ±1 on A/B).
    """
    if lattice == "honeycomb":
        return _hc.cdw_order(Q)
    Q = _as_field(Q)
    m = np.abs((SquareLattice(Q.shape[-1]).stagger * Q).mean(axis=(-2, -1)))
    return float(m) if m.ndim == 0 else m


# ----------------------------------------------------------------------------- structure factor
def q_grid(L: int, shift: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Momenta of the L×L lattice, ``q = 2π (kx, ky) / L``, as (L, L) arrays (``indexing='ij'``).

    ``shift=False``: FFT order, ``qx, qy ∈ [0, 2π)``, matching :func:`structure_factor`
    element by element; ``(π, π)`` sits at index ``(L/2, L/2)``, i.e. in the centre of the
    ``[0, 2π)²`` zone. ``shift=True``: fftshift-ed, ``q ∈ [-π, π)`` increasing; then apply
    ``np.fft.fftshift(S, axes=(-2, -1))`` to S (q = 0 moves to the centre).
    """
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 2 or L % 2:
        raise ValueError(f"L must be an even integer >= 2, got {L!r}")
    q = 2 * np.pi * np.arange(L) / L
    if shift:
        q = np.fft.fftshift(np.where(q >= np.pi, q - 2 * np.pi, q))
    return np.meshgrid(q, q, indexing="ij")


def structure_factor(Q, subtract_mean: bool = True, lattice: str = "square") -> np.ndarray:
    """Static structure factor of one snapshot (per batch element).

        S(q) = (1/N) | Σ_i (Q_i - Q̄) e^{-i q·r_i} |²,   N = L²,   q on :func:`q_grid` (FFT order)

    with Q̄ = mean_i Q_i if ``subtract_mean`` (else Q̄ = 0). Exact relations (L even):

    * Σ_q S(q) = Σ_i (Q_i - Q̄)²  (Parseval);
    * S(π, π) = N m², with m = :func:`cdw_order` — for either value of ``subtract_mean``,
      because Σ_i (-1)^(x+y) = 0 so the mean does not reach q = (π, π);
    * ``subtract_mean`` only changes q = 0: S(0) = 0 when subtracting, N Q̄² otherwise.

    A perfect checkerboard Q0 (-1)^(x+y) has S = N Q0² at (π, π) and 0 elsewhere.

    Q: (L, L) or (..., L, L)  ->  S: same shape, S[..., kx, ky] at q = 2π (kx, ky) / L.
    Honeycomb: the staggered S(k), peaked at k = 0 (:func:`holstein.observables.honeycomb.structure_factor`).
    """
    if lattice == "honeycomb":
        return _hc.structure_factor(Q, subtract_mean)
    Q = _as_field(Q)
    if subtract_mean:
        Q = Q - Q.mean(axis=(-2, -1), keepdims=True)
    N = Q.shape[-1] * Q.shape[-2]
    Qk = np.fft.fft2(Q, axes=(-2, -1))
    return (Qk.real ** 2 + Qk.imag ** 2) / N


# ----------------------------------------------------------------------------- correlations
def _order_field(Q: np.ndarray, use_phi: bool) -> np.ndarray:
    if use_phi:
        return local_cdw(Q)
    # plain staggered field ψ_i = (-1)^(x+y) (Q_i - Q̄): no neighbour smoothing
    return SquareLattice(Q.shape[-1]).stagger * (Q - Q.mean(axis=(-2, -1), keepdims=True))


def correlation_map(Q, use_phi: bool = True, average_batch: bool = True) -> np.ndarray:
    """Normalised spatial autocorrelation of the CDW order field on all displacements.

        C(Δ) = G(Δ) / G(0),   G(Δ) = (1/N) Σ_i φ_i φ_{i+Δ}   (periodic; computed by FFT)

    with φ = :func:`local_cdw` (``use_phi=True``) or the staggered field
    ψ_i = (-1)^(x+y) (Q_i - Q̄) (``use_phi=False``). No mean of φ is subtracted, so a single
    perfect domain gives C ≡ 1 and the long-distance value is the squared global order
    (m/⟨φ²⟩^½)². With ``average_batch`` the *unnormalised* G is averaged over all leading
    (batch) dims before dividing by G(0) — the ensemble definition ⟨φ_i φ_j⟩ / ⟨φ²⟩.
    A field with G(0) = 0 (φ ≡ 0) gives NaN.

    Q: (L, L) or (..., L, L)  ->  C: (L, L) (averaged or single field) or (..., L, L);
    C[..., dx, dy] is the displacement (dx, dy) mod L (FFT order; minimum image via
    dx -> dx - L for dx > L/2).
    """
    Q = _as_field(Q)
    phi = _order_field(Q, use_phi)
    N = phi.shape[-1] * phi.shape[-2]
    pk = np.fft.fft2(phi, axes=(-2, -1))
    G = np.fft.ifft2(pk.real ** 2 + pk.imag ** 2, axes=(-2, -1)).real / N  # (..., L, L)
    if average_batch and G.ndim > 2:
        G = G.reshape((-1,) + G.shape[-2:]).mean(axis=0)
    G0 = G[..., :1, :1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(G0 > 0, G / np.where(G0 > 0, G0, 1.0), np.nan)


def radial_bins(L: int, dr: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Radial bins of minimum-image displacements on the L×L torus.

    ``dr=None``: one bin per distinct |Δ|; else shells k = round(|Δ| / dr) (bin 0 is Δ = 0 alone
    when dr < 2). Returns (r (n_r,) = mean |Δ| in each bin, bin index (L, L), counts (n_r,)).
    """
    d = np.arange(L)
    d = np.where(d > L // 2, d - L, d)  # minimum image; dx = L/2 has |dx| = L/2 either way
    r2 = d[:, None] ** 2 + d[None, :] ** 2
    key = r2.ravel() if dr is None else np.rint(np.sqrt(r2.ravel()) / dr).astype(np.int64)
    _, inverse = np.unique(key, return_inverse=True)
    counts = np.bincount(inverse)
    r = np.bincount(inverse, weights=np.sqrt(r2.ravel().astype(np.float64))) / counts
    return r, inverse.reshape(L, L), counts


def radial_average(Cmap, dr: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Average a displacement map over all Δ of equal minimum-image length |Δ|.

        C(r) = (1 / #{Δ : |Δ| = r}) Σ_{|Δ| = r} C(Δ),   Δ = minimum-image displacement

    ``dr=None`` keeps every distinct radius (exact, but jagged at large r because each bin holds
    few, differently oriented Δ); ``dr > 0`` averages over shells |Δ| ∈ [(k - ½) dr, (k + ½) dr)
    and reports r as the mean |Δ| of the shell (smoother, for large L).

    Cmap: (L, L) or (..., L, L) in FFT order  ->  r: (n_r,) increasing radii (r[0] = 0 for
    dr < 2, up to L/√2), C: (n_r,) or (..., n_r).
    """
    if dr is not None and not (np.isfinite(dr) and dr > 0):
        raise ValueError(f"dr must be a positive number or None, got {dr!r}")
    if type(Cmap).__module__.startswith("torch"):
        Cmap = Cmap.detach().cpu().numpy()
    Cmap = np.asarray(Cmap, dtype=np.float64)
    if Cmap.ndim < 2 or Cmap.shape[-1] != Cmap.shape[-2] or Cmap.shape[-1] % 2:
        raise ValueError(f"Cmap must have shape (..., L, L) with L even, got {Cmap.shape}")
    L = Cmap.shape[-1]
    r, idx, counts = radial_bins(L, dr)
    flat = Cmap.reshape(-1, L * L)  # (B, L²)
    B, nr = flat.shape[0], r.size
    sums = np.bincount((np.arange(B)[:, None] * nr + idx.ravel()[None, :]).ravel(),
                       weights=flat.ravel(), minlength=B * nr).reshape(B, nr)
    return r, (sums / counts).reshape(Cmap.shape[:-2] + (nr,))


def correlation(Q, use_phi: bool = True, average_batch: bool = True,
                dr: float | None = None, lattice: str = "square") -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged CDW correlation function C(r), normalised so C(0) = 1.

        C(r) = ⟨ G(Δ) ⟩_{|Δ| = r} / G(0),   G(Δ) = (1/N) Σ_i φ_i φ_{i+Δ}

    (see :func:`correlation_map` for φ, ``use_phi`` and ``average_batch``, and
    :func:`radial_average` for the binning by minimum-image |Δ|; ``dr`` = shell width, None
    for one bin per distinct radius). A perfect checkerboard gives
    C(r) = 1 for all r; uncorrelated white-noise Q gives, for φ, C(1) = 0.4, C(√2) = 0.1,
    C(2) = 0.05 (the 5-site stencil of φ) and C(r) = 0 for r > 2; for ψ (``use_phi=False``)
    C(r > 0) = 0.

    Q: (L, L) or (..., L, L)  ->  (r: (n_r,), C: (n_r,)) or C: (..., n_r) if not averaged.
    Honeycomb: over site pairs at distance r (bond length 1), :func:`holstein.observables.honeycomb.correlation`.
    """
    if lattice == "honeycomb":
        return _hc.correlation(Q, use_phi, average_batch, dr)
    return radial_average(correlation_map(Q, use_phi=use_phi, average_batch=average_batch), dr=dr)


# ----------------------------------------------------------------------------- domain size
def domain_size(r, C, level: float = 0.5) -> float:
    """Domain size L defined by C(L) = level, by linear interpolation at the first crossing.

    With k the first index where C[k] <= level (and C[k-1] > level):

        L = r[k-1] + (level - C[k-1]) (r[k] - r[k-1]) / (C[k] - C[k-1])

    Returns NaN (no warning) if C never drops to ``level``, if C[0] <= level already, or if a
    NaN is met before the crossing. r: (n,) increasing, C: (n,) with C[0] = 1 typically.
    """
    r = np.asarray(r, dtype=np.float64)
    C = np.asarray(C, dtype=np.float64)
    if r.ndim != 1 or r.shape != C.shape:
        raise ValueError(f"r and C must be 1-d arrays of equal length, got {r.shape} and {C.shape}")
    if r.size and np.any(np.diff(r) <= 0):
        raise ValueError("r must be strictly increasing")
    below = np.flatnonzero(~(C > level))  # first C <= level, or NaN
    if below.size == 0 or below[0] == 0:
        return float("nan")
    k = below[0]
    if not np.isfinite(C[k]):
        return float("nan")
    if C[k] == level:
        return float(r[k])
    return float(r[k - 1] + (level - C[k - 1]) * (r[k] - r[k - 1]) / (C[k] - C[k - 1]))
