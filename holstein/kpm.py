r"""Kernel polynomial method (KPM): local densities at fixed half filling in O(M N p²), no eigh.

The electronic Hamiltonian is the one of :mod:`holstein.ed`,

    H_e = -t Σ_<ij> (c†_i c_j + h.c.) - g Σ_i Q_i n_i,        N = L²,

applied to blocks of vectors with a periodic stencil (the N×N matrix is never built). Its
spectrum lies in the Gershgorin interval [E_-, E_+] = [min_i(-g Q_i) - 4|t|, max_i(-g Q_i) + 4|t|],
widened by 1 %, so H̃ = (H_e - b)/a with b = (E_+ + E_-)/2, a = 1.01 (E_+ - E_-)/2 has its
spectrum in [-1, 1]. The Fermi function is expanded in Chebyshev polynomials of H̃,

    f(E) = 1 / (1 + e^{(E - μ)/kT}) ≈ Σ_{m<M} c_m(μ) T_m((E - b)/a),
    c_m = (2 - δ_m0)/K Σ_k f(b + a cos θ_k) cos(m θ_k),   θ_k = π (k + 1/2)/K,  K = 2M

(Chebyshev–Gauss quadrature, evaluated as a DCT-II by FFT; aliasing is O(e^{-3Mπ kT/a})).

Number of moments. f has its poles closest to the real axis at E = μ ± iπkT, a distance
ε = πkT/a in rescaled units, so the coefficients decay as |c_m| ≈ 4 (kT/a) e^{-mε} and the
truncation error is at most Σ_{m≥M} |c_m| ≈ (4/π) e^{-Mπ kT/a} uniformly on [-1, 1] (measured
maximum: about half of that, at μ = b). Hence (:func:`moments_needed`)

    M = ⌈ (a / π kT) ln(4 / (π tol)) ⌉,

e.g. a ≈ 35 (quench snapshots, g = 3.5, |Q| ≲ 9) at kT = 0.1: M ≈ 800 for tol = 1e-3; hot random
fields (|Q| ≲ 20, a ≈ 75) need M ≈ 1700. The density error from truncation is bounded by the same
tol, since n_i = Σ_ν |U_iν|² f(ε_ν) and Σ_ν |U_iν|² = 1. No kernel is needed at kT > 0 (the
expansion converges geometrically); at kT = 0 the Fermi function is a step, convergence is only
algebraic with Gibbs oscillations, and :func:`solve` raises ValueError (use :mod:`holstein.ed`).

Probing (Weiße et al., RMP 78, 275 (2006), Sec. II.C; Barros & Kato, PRB 88, 235101 (2013)).
The sites are coloured by c(i) = (x mod P, y mod P) with P a divisor of L (:func:`probe_period`),
so that two sites of one colour are at least P apart; the p² = P² probe vectors are the colour
indicators v_c. Then

    d_i = [f(H) v_{c(i)}]_i = f(H)_ii + Σ_{j ≠ i, c(j) = c(i)} f(H)_ij,

and the error terms decay exponentially with |i - j| ≥ P because f(H) is local at kT > 0 or in
a gapped (CDW) state; P = L is exact. The set {j : c(j) = c(i)} = i + P Z² is invariant under
translations and D4, so the estimate is exactly symmetry covariant.

Chemical potential. The trace moments τ_m = Σ_c v_c·T_m(H̃) v_c = Σ_i [T_m(H̃) v_{c(i)}]_i come
from the same recurrence, and μ is bisected on Σ_m c_m(μ) τ_m = N/2 for every configuration;
then n_i = Σ_m c_m(μ) [T_m(H̃) v_{c(i)}]_i, so Σ_i n_i = N/2 holds to bisection precision.

Memory. When the per-site moments (B, M, N) fit into ``max_memory`` bytes they are stored and
one recurrence of M steps suffices. Otherwise the trace moments are computed first with
M/2 steps from T_{2m} = 2T_m² - 1 and T_{2m+1} = 2T_{m+1}T_m - T_1 (τ_{2m} = 2|T_m v|² - |v|²,
τ_{2m+1} = 2 (T_{m+1}v)·(T_m v) - v·T_1 v), μ is bisected, and a second recurrence of M steps
accumulates n_i with the final coefficients: 1.5× the work, O(N p²) memory. Probe vectors are
processed in chunks of at most ``_BLOCK_ELEMENTS`` numbers.

Cost: O(M N P²) multiply-adds (the recurrence), independent of the eigen-solver O(N³).
All functions take ``Q`` of shape ``(L, L)`` or ``(B, L, L)`` (torch tensor or numpy array,
float64 by default) and run on Q's device; on the honeycomb (``p.lattice``) ``(L, L, 2)`` or
``(B, L, L, 2)``, with z = 3 in the Gershgorin bound and 2P² probes coloured (x mod P, y mod P, s).
"""
from __future__ import annotations

import math
from typing import Iterator, NamedTuple

import numpy as np
import torch

from .filling import bisect_mu
from .forces import from_density
from .lattice import as_field, neighbour_sum
from .lattice import get as get_lattice
from .params import HolsteinParams

__all__ = ["spectral_bounds", "moments_needed", "error_bound", "density_errors", "probe_period", "fermi_coefficients", "KPMSolution",
           "solve", "density", "forces"]

_MARGIN = 0.01  # relative widening of the Gershgorin interval
_BISECTION_STEPS = 200
_BLOCK_ELEMENTS = 2**22  # probe vectors per chunk: B * chunk * N <= this (32 MiB in float64)
_MAX_MEMORY = 2**28  # bytes of per-site moments (B, M, N) that may be stored (256 MiB)


def _check_int(name: str, v, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
    return int(v)


def spectral_bounds(Q, p: HolsteinParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre b and half-width a of the rescaling H̃ = (H_e - b)/a, each of shape ``(...)``.

    Gershgorin: spec H_e ⊂ [min(-gQ) - z|t|, max(-gQ) + z|t|] (z = 4 square, 3 honeycomb); a is widened by 1 %.
    """
    lat = get_lattice(p.lattice)
    Q = as_field(Q, lattice=p.lattice)
    d = -p.g * Q.flatten(-len(lat.site_axes))  # (..., N) diagonal of H_e
    lo, hi = d.amin(-1) - lat.z * abs(p.t), d.amax(-1) + lat.z * abs(p.t)
    return 0.5 * (hi + lo), (1 + _MARGIN) * 0.5 * (hi - lo) + 1e-12


def moments_needed(half_width: float, kT: float, tol: float) -> int:
    """Moments M for a Fermi-function truncation error ≤ tol: M = ⌈(a/πkT) ln(4/(π tol))⌉ (≥ 2).

    ``half_width`` is a of :func:`spectral_bounds` (energy units of t); see the module docstring.
    """
    if not kT > 0:
        raise ValueError(f"the Chebyshev expansion of the Fermi function needs kT > 0, got {kT}")
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1), got {tol}")
    return max(2, math.ceil(float(half_width) / (math.pi * kT) * math.log(4 / (math.pi * tol))))


def error_bound(n_moments, half_width: float, kT: float) -> np.ndarray:
    """The truncation-error estimate (4/π) e^{-Mπ kT/a} of ``n_moments`` M (scalar or array), with a the
    ``half_width`` of :func:`spectral_bounds`: the inverse of :func:`moments_needed`."""
    return 4 / math.pi * np.exp(-np.asarray(n_moments, dtype=float) * math.pi * kT / float(half_width))


def density_errors(Q, n_ref, p: HolsteinParams, moments, **kw) -> np.ndarray:
    """max_i |n_i^KPM - n_i^ref| for each number of moments in ``moments`` (keywords of :func:`solve`),
    against reference densities ``n_ref`` (e.g. ED) of the same shape as ``Q``."""
    n_ref = torch.as_tensor(np.asarray(n_ref), dtype=torch.float64)
    return np.array([float((density(Q, p, n_moments=M, **kw).cpu() - n_ref).abs().max()) for M in moments])


def probe_period(L: int, probe_distance: int) -> int:
    """The colouring period P: the smallest divisor of L that is ≥ ``probe_distance`` (L if none)."""
    d = _check_int("probe_distance", probe_distance, 1)
    return next(P for P in range(min(d, L), L + 1) if L % P == 0)


def fermi_coefficients(mu: torch.Tensor, centre: torch.Tensor, half_width: torch.Tensor, kT: float,
                       M: int) -> torch.Tensor:
    """Chebyshev coefficients c_m, m < M, of f(E) = 1/(1+e^{(E-μ)/kT}) in x = (E - b)/a.

    ``mu, centre, half_width: (B,)`` -> ``(B, M)``; Chebyshev–Gauss quadrature on K = 2M nodes,
    c_m = (2 - δ_m0)/K Σ_k f(b + a cos θ_k) cos(mθ_k), as a DCT-II through one FFT of length 2K.
    """
    K = 2 * M
    theta = torch.pi * (torch.arange(K, dtype=mu.dtype, device=mu.device) + 0.5) / K
    E = centre[:, None] + half_width[:, None] * torch.cos(theta)  # (B, K)
    y = torch.special.expit((mu[:, None] - E) / kT)
    V = torch.fft.fft(torch.cat([y, y.flip(-1)], -1))[:, :M]  # (B, M)
    m = torch.arange(M, dtype=mu.dtype, device=mu.device)
    c = (V * torch.exp(-0.5j * torch.pi * m / K)).real / K  # (2/K) Σ_k y_k cos(mθ_k)
    c[:, 0] *= 0.5
    return c


def _chebyshev(alpha: torch.Tensor, beta: torch.Tensor, V: torch.Tensor, M: int,
               neighbour_sum=neighbour_sum) -> Iterator[torch.Tensor]:
    """Yield W_m = T_m(H̃) V for m = 0..M-1, with H̃ W = α Σ_nn W + β ⊙ W.

    W_{m+1} = 2 H̃ W_m - W_{m-1}. ``alpha: (B, 1, 1, 1)``, ``beta: (B, 1, L, L)``, ``V: (B, C, L, L)``
    (honeycomb: one more trailing axis of 2, and its ``neighbour_sum``).
    The yielded tensors must not be modified.
    """
    W_prev, W = None, V
    for m in range(M):
        yield W
        if m == M - 1:
            break
        if m == 0:
            W_prev, W = W, neighbour_sum(W).mul_(alpha).addcmul_(beta, W)
        else:
            W_prev, W = W, neighbour_sum(W).mul_(2 * alpha).addcmul_(beta, W, value=2).sub_(W_prev)


def _probe_chunks(L: int, P: int, B: int, dtype, device, lattice: str = "square"
                  ) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Chunks of the colour-indicator probes: ``(V (B, C, L, L), sites (S,), channel (S,))``.

    Colours (x mod P, y mod P), P² of them; on the honeycomb (x mod P, y mod P, s), 2P², and V is
    ``(B, C, L, L, 2)``. ``sites`` are the flat indices of the sites whose colour is in the chunk and
    ``channel`` the index of that colour's vector in V, so d_i = W.reshape(B, C, N)[:, channel, sites].
    """
    x = torch.arange(L, device=device)
    colour = ((x[:, None] % P) * P + x[None, :] % P)  # (L, L)
    shape, n_col = (L, L), P * P
    if lattice == "honeycomb":
        colour, shape, n_col = torch.stack([2 * colour, 2 * colour + 1], -1), (L, L, 2), 2 * P * P
    colour = colour.flatten()  # (N,)
    step = max(1, _BLOCK_ELEMENTS // (B * colour.numel()))
    for c0 in range(0, n_col, step):
        cols = torch.arange(c0, min(c0 + step, n_col), device=device)  # (C,)
        V = (colour[None, :] == cols[:, None]).to(dtype).reshape(1, -1, *shape).expand(B, -1, *shape)
        sites = torch.nonzero((colour >= c0) & (colour < c0 + len(cols))).squeeze(-1)
        yield V, sites, colour[sites] - c0


class KPMSolution(NamedTuple):
    """One KPM solve: densities ``n (..., L, L)``, chemical potential ``mu (...)``, the number of
    moments M and the colouring period P that were used."""

    n: torch.Tensor
    mu: torch.Tensor
    n_moments: int
    probe_period: int


def _bisect_mu(tau: torch.Tensor, centre: torch.Tensor, half: torch.Tensor, kT: float, N: int) -> torch.Tensor:
    """μ (B,) with Σ_m c_m(μ) τ_m = N/2, by bisection on [b - a, b + a]."""
    return bisect_mu(lambda mu: (fermi_coefficients(mu, centre, half, kT, tau.shape[-1]) * tau).sum(-1),
                     centre - half, centre + half, N / 2, _BISECTION_STEPS, scale=half)


def solve(Q, p: HolsteinParams, n_moments: int | None = None, probe_distance: int = 8, tol: float = 1e-4,
          max_memory: int = _MAX_MEMORY) -> KPMSolution:
    """Local densities n_i at half filling by KPM with probing. See the module docstring.

    Args:
        Q: ``(L, L)`` or ``(B, L, L)`` lattice displacements.
        p: model parameters (t, g, kT > 0 are used).
        n_moments: Chebyshev moments M; None picks :func:`moments_needed` for the widest
            spectrum of the batch and ``tol``.
        probe_distance: minimum distance between sites sharing a probe vector; the period is
            :func:`probe_period` (L, i.e. exact, if ``probe_distance`` ≥ L).
        tol: target truncation error of the Fermi function (used when ``n_moments`` is None).
            It bounds the Chebyshev error of n_i, not the probing error, which is set by
            ``probe_distance`` alone (measured at kT = 0.1, g = 3.5: max|δn| ≈ 6e-5 at P = 8 for
            hot random fields, ≈ 2e-5 for quench snapshots; ≈ 2e-2 and 6e-3 at P = 4).
        max_memory: bytes allowed for storing the (B, M, N) per-site moments; above it a second
            recurrence is run instead.
    Returns:
        :class:`KPMSolution` with ``n`` of Q's shape and ``mu`` of shape ``Q.shape[:-2]``.
    Cost: O(M N P²) (1.5× that if the moments are not stored); memory O(B N P²) per chunk.
    """
    if not isinstance(p, HolsteinParams):
        raise TypeError(f"p must be a HolsteinParams, got {type(p).__name__}")
    if not p.kT > 0:
        raise ValueError(f"KPM expands the Fermi function and needs kT > 0 (got kT={p.kT}); "
                         "use holstein.ed at kT = 0")
    if not 0 < tol < 1:
        raise ValueError(f"tol must be in (0, 1), got {tol}")
    lat = get_lattice(p.lattice)
    Q = as_field(Q, lattice=p.lattice)
    nd = len(lat.site_axes)
    L = Q.shape[-nd]
    shape = lat.field_shape(L)
    P = probe_period(L, probe_distance)
    _check_int("max_memory", max_memory, 0)
    Qb = Q.reshape(-1, *shape)  # (B, L, L[, 2])
    B, N = Qb.shape[0], lat(L).N
    one = (1,) * nd
    centre, half = spectral_bounds(Qb, p)  # (B,)
    M = moments_needed(float(half.max()), p.kT, tol) if n_moments is None else _check_int("n_moments", n_moments, 1)
    alpha = (-p.t / half).reshape(B, 1, *one)
    beta = ((-p.g * Qb - centre.reshape(B, *one)) / half.reshape(B, *one)).unsqueeze(1)  # (B, 1, L, L[, 2])
    chunks = lambda: _probe_chunks(L, P, B, Q.dtype, Q.device, p.lattice)  # noqa: E731
    cheb = lambda V, M: _chebyshev(alpha, beta, V, M, lat.neighbour_sum)  # noqa: E731

    if B * M * N * Q.element_size() <= max_memory:  # one pass, per-site moments stored
        d = Q.new_zeros(B, M, N)
        for V, sites, ch in chunks():
            for m, W in enumerate(cheb(V, M)):
                d[:, m, sites] = W.reshape(B, -1, N)[:, ch, sites]
        mu = _bisect_mu(d.sum(-1), centre, half, p.kT, N)
        n = torch.einsum("bm,bmn->bn", fermi_coefficients(mu, centre, half, p.kT, M), d)
    else:  # trace moments from M/2 steps, then a second recurrence for the densities
        tau = Q.new_zeros(B, M)
        for V, _, _ in chunks():
            dot = lambda X, Y: torch.einsum("bc...,bc...->b", X, Y)  # noqa: E731  (B,)
            W_prev, v_v, v_h = None, dot(V, V), None
            for m, W in enumerate(cheb(V, M // 2 + 1)):
                if 2 * m < M:
                    tau[:, 2 * m] += 2 * dot(W, W) - v_v
                if m == 1:
                    v_h = dot(W, V)
                if m >= 1 and 2 * m - 1 < M:
                    tau[:, 2 * m - 1] += 2 * dot(W, W_prev) - v_h
                W_prev = W
        mu = _bisect_mu(tau, centre, half, p.kT, N)
        c = fermi_coefficients(mu, centre, half, p.kT, M)  # (B, M)
        n = Q.new_zeros(B, N)
        for V, sites, ch in chunks():
            for m, W in enumerate(cheb(V, M)):
                n[:, sites] += c[:, m, None] * W.reshape(B, -1, N)[:, ch, sites]
    return KPMSolution(n.reshape(Q.shape), mu.reshape(Q.shape[:-nd]), M, P)


def density(Q, p: HolsteinParams, **kw) -> torch.Tensor:
    """Local density n_i at half filling by KPM (keywords of :func:`solve`). ``(..., L, L)`` -> same."""
    return solve(Q, p, **kw).n


def forces(Q, p: HolsteinParams, **kw) -> torch.Tensor:
    """Total force F_i = g (n_i - 1/2) - k Q_i - κ Σ_nn Q_j with KPM densities, as ``ed.forces``.

    ``(..., L, L)`` -> same; keywords of :func:`solve`.
    """
    Q = as_field(Q, lattice=p.lattice)
    return from_density(density(Q, p, **kw), Q, p)
