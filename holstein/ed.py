r"""Exact diagonalization (ED) of the electronic Hamiltonian at fixed half filling.

For a lattice configuration Q the one-body Hamiltonian is the N×N matrix

    H_e = -t Σ_<ij> (c†_i c_j + h.c.) - g Σ_i Q_i n_i,       N = L²,

diagonalised as H_e = U diag(ε) U†. Spinless electrons at half filling, N_e = N/2, in contact
with the bath at temperature kT occupy level m with the Fermi function f_m = f(ε_m - μ),
and μ is fixed by Σ_m f_m = N/2. The local density and the electronic force are

    n_i = Σ_m f_m |U_im|²,        F^e_i = g (n_i - 1/2).

The -1/2 is the particle–hole symmetric coupling -g Σ_i (n_i - 1/2) Q_i: it makes the
uniform state Q = 0 force-free. The electronic Helmholtz free energy at fixed N_e is

    A_e(Q) = -kT Σ_m ln(1 + e^{-(ε_m - μ)/kT}) + μ N_e + (g/2) Σ_i Q_i      (kT > 0)
    A_e(Q) = Σ_m f_m ε_m + (g/2) Σ_i Q_i                                      (kT = 0)

and by Hellmann–Feynman ∂A_e/∂Q_i = Σ_m f_m ∂ε_m/∂Q_i + g/2 = -g n_i + g/2 = -F^e_i
(the μ-dependence drops out because ∂A_e/∂μ = N_e - Σ f_m = 0).

Cost: one dense ``torch.linalg.eigh`` of an N×N matrix, O(N³); everything else is O(N²).
All functions take ``Q`` of shape ``(L, L)`` or ``(B, L, L)`` (torch tensor or numpy array,
float64 by default) and work on any torch device; on the honeycomb lattice (``p.lattice``) the
fields are ``(L, L, 2)`` or ``(B, L, L, 2)`` and N = 2L².
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch

from .filling import bisect_mu
from .forces import elastic_energy, from_density
from .lattice import as_field, get
from .params import HolsteinParams

__all__ = ["hamiltonian", "spectrum", "occupations", "chemical_potential", "density",
           "electronic_forces", "forces", "free_energy", "Solution", "solve", "force_id", "cdw_delta", "cdw_amplitude",
           "cdw_critical_coupling", "cdw_relax", "memory_needed", "check_memory",
           "MAX_BYTES"]

#: memory ED may use (dense H, its eigenvectors, eigh's workspace); ``$HOLSTEIN_ED_MAX_BYTES`` overrides it
MAX_BYTES = int(float(os.environ.get("HOLSTEIN_ED_MAX_BYTES", 8 * 2**30)))

_DEGENERACY_TOL = 1e-10
_BISECTION_STEPS = 200


@lru_cache(maxsize=16)
def _hopping(lattice: str, L: int, t: float, dtype: torch.dtype, device: str) -> torch.Tensor:
    with torch.inference_mode(False):  # cached: must stay usable by autograd after an inference call
        return torch.as_tensor(get(lattice)(L).hopping_matrix(t), dtype=dtype, device=device)


def force_id(p: HolsteinParams) -> str:
    """Fingerprint of the ED force at parameters ``p`` for checkpoints and result identities:
    ``"ed:<parameters as sorted JSON>"`` (the counterpart of a model's "model:<name>:<weights hash>")."""
    return "ed:" + json.dumps(p.to_dict(), sort_keys=True)


def memory_needed(L: int, batch: int = 1, itemsize: int = 8, N: int | None = None) -> int:
    """Bytes of one ED solve of ``batch`` fields of N sites (default the square L²): ≈ 4 N² numbers per
    field (the hopping matrix, H, the eigenvectors and eigh's workspace)."""
    N = int(L) ** 2 if N is None else int(N)
    return 4 * int(batch) * N**2 * int(itemsize)


def check_memory(L: int, batch: int = 1, itemsize: int = 8, N: int | None = None) -> None:
    """Refuse, before allocating anything, an ED solve that needs more than :data:`MAX_BYTES`."""
    need = memory_needed(L, batch, itemsize, N)
    N = L * L if N is None else N
    if need > MAX_BYTES:
        raise ValueError(f"ED of {batch} fields of L = {L} needs about {need / 2**30:.1f} GiB (dense {N}×{N} "
                         f"matrices), above the budget of {MAX_BYTES / 2**30:.1f} GiB ($HOLSTEIN_ED_MAX_BYTES); "
                         "use holstein.kpm or a trained model for lattices this large")


def hamiltonian(Q, p: HolsteinParams) -> torch.Tensor:
    """The one-body matrix H_e(Q) on ``p.lattice``. ``Q: (..., L, L)`` (honeycomb ``(..., L, L, 2)``)
    -> ``(..., N, N)``, sites in the lattice's flat order."""
    lat = get(p.lattice)
    Q = as_field(Q, lattice=p.lattice)
    L, batch = Q.shape[lat.site_axes[0]], Q.shape[:len(Q.shape) - len(lat.site_axes)]
    N = lat(L).N
    check_memory(L, int(np.prod(batch)), Q.element_size(), N)
    K = _hopping(p.lattice, L, p.t, Q.dtype, str(Q.device))
    H = K.expand(*batch, N, N).clone()
    H.diagonal(dim1=-2, dim2=-1).sub_(p.g * Q.reshape(*batch, N))
    return H


def spectrum(Q, p: HolsteinParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues ``(..., N)`` (ascending) and eigenvectors ``(..., N, N)`` (columns) of H_e(Q)."""
    return torch.linalg.eigh(hamiltonian(Q, p))


def chemical_potential(eps: torch.Tensor, kT: float) -> torch.Tensor:
    """μ such that Σ_m f(ε_m - μ) = N/2, for eigenvalues ``eps: (..., N)`` sorted ascending.

    kT > 0: bisection on the monotonic Σ_m f(ε_m - μ), bracketed by [ε_min - 1, ε_max + 1]
    and run to machine precision (robust for gaps and degenerate levels alike).
    kT = 0: the mid-point between the highest occupied and lowest empty level.
    """
    N = eps.shape[-1]
    if kT == 0:
        return 0.5 * (eps[..., N // 2 - 1] + eps[..., N // 2])
    return bisect_mu(lambda mu: torch.special.expit((mu[..., None] - eps) / kT).sum(-1),
                     eps[..., 0] - 1.0 - 50 * kT, eps[..., -1] + 1.0 + 50 * kT, N / 2, _BISECTION_STEPS)


def occupations(eps: torch.Tensor, kT: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Occupations f_m ``(..., N)`` and μ ``(...)`` at half filling.

    At kT = 0 the lowest N/2 levels are filled; if the Fermi level is degenerate (e.g. at
    Q = 0) the degenerate levels share the remaining electrons equally, which is the kT -> 0
    limit of the Fermi function and gives n_i = 1/2 in a translation-invariant state.
    """
    N = eps.shape[-1]
    mu = chemical_potential(eps, kT)
    if kT > 0:
        return torch.special.expit((mu[..., None] - eps) / kT), mu
    e_f = eps[..., N // 2 - 1 : N // 2]  # (..., 1) highest occupied level
    tol = _DEGENERACY_TOL * (1 + eps.abs().amax(-1, keepdim=True))
    below = eps < e_f - tol
    shell = (eps - e_f).abs() <= tol
    n_shell = shell.sum(-1, keepdim=True)
    frac = (N / 2 - below.sum(-1, keepdim=True)) / n_shell
    f = below.to(eps.dtype) + shell.to(eps.dtype) * frac.to(eps.dtype)
    return f, mu


class Solution(NamedTuple):
    """One ED solve: levels ``eps (..., N)``, eigenvectors ``U (..., N, N)``, occupations
    ``f (..., N)``, chemical potential ``mu (...)`` and densities ``n (..., L, L)``."""

    eps: torch.Tensor
    U: torch.Tensor
    f: torch.Tensor
    mu: torch.Tensor
    n: torch.Tensor


def solve(Q, p: HolsteinParams) -> Solution:
    """Diagonalise H_e(Q) and fill it at half filling. See the module docstring."""
    Q = as_field(Q, lattice=p.lattice)
    eps, U = spectrum(Q, p)
    f, mu = occupations(eps, p.kT)
    n = ((U * U) @ f[..., None]).squeeze(-1)  # (..., N): Σ_m |U_im|² f_m
    return Solution(eps, U, f, mu, n.reshape(Q.shape))


def density(Q, p: HolsteinParams) -> torch.Tensor:
    """Local density n_i = Σ_m f_m |U_im|² at half filling. ``(..., L, L)`` -> same."""
    return solve(Q, p).n


def electronic_forces(Q, p: HolsteinParams) -> torch.Tensor:
    """Electronic force F^e_i = g (n_i - 1/2). ``(..., L, L)`` -> same."""
    return from_density(density(Q, p), None, p)


def forces(Q, p: HolsteinParams) -> torch.Tensor:
    """Total force F_i = g (n_i - 1/2) - k Q_i - κ Σ_nn Q_j. ``(..., L, L)`` -> same."""
    Q = as_field(Q, lattice=p.lattice)
    return from_density(density(Q, p), Q, p)


def free_energy(Q, p: HolsteinParams) -> torch.Tensor:
    """Electronic Helmholtz free energy at fixed N_e = N/2 plus the lattice potential V(Q).

    ``Q: (..., L, L)`` -> ``(...)``; its negative gradient is :func:`forces`.
    """
    Q = as_field(Q, lattice=p.lattice)
    eps = torch.linalg.eigvalsh(hamiltonian(Q, p))
    f, mu = occupations(eps, p.kT)
    N = eps.shape[-1]
    if p.kT > 0:
        A = -p.kT * torch.nn.functional.softplus((mu[..., None] - eps) / p.kT).sum(-1) + mu * (N / 2)
    else:
        A = (f * eps).sum(-1)
    return A + 0.5 * p.g * Q.sum(dim=get(p.lattice).site_axes) + elastic_energy(Q, p)


def _band_energies(L: int, p: HolsteinParams) -> np.ndarray:
    """(L, L) energies ε_k >= 0 paired by the staggered coupling on the grid k = 2π(m, n)/L: |ε_k| with
    ε_k = -2t(cos kx + cos ky) on the square lattice, t|1 + e^{ik·a1} + e^{ik·a2}| on the honeycomb
    (the lattice's ``band_energies``)."""
    return np.abs(get(p.lattice)(L).band_energies(p.t))


def cdw_delta(L: int, Q0: float, p: HolsteinParams) -> float:
    r"""Closed-form CDW amplitude δ of the staggered field Q_i = Q0 s_i: n_i = 1/2 + s_i δ, with s_i the
    lattice's stagger ((-1)^(x+y) on the square lattice, +1 on A and -1 on B on the honeycomb).

    Derivation (square). With s_i = e^{iΠ·r_i}, Π = (π, π), the coupling
    -g Q0 Σ_i s_i n_i = -Δ Σ_k c†_{k+Π} c_k with Δ = g Q0 couples k to k + Π only. Since
    ε_{k+Π} = -ε_k for ε_k = -2t(cos kx + cos ky), each pair (k, k+Π) has the 2×2 Bloch matrix

        h_k = [[ε_k, -Δ], [-Δ, -ε_k]] = ε_k σ_z - Δ σ_x,

    with bands ±E_k, E_k = √(ε_k² + Δ²). Particle–hole symmetry puts μ = 0 at half filling.
    In the lower (upper) band ⟨σ_x⟩ = +Δ/E_k (-Δ/E_k), so
    ⟨c†_{k+Π} c_k + h.c.⟩ = (Δ/E_k)[f(-E_k) - f(E_k)] = (Δ/E_k) tanh(E_k / 2kT).
    The staggered density N δ = Σ_i s_i n_i sums this over the N/2 pairs, i.e.

        δ = (1/L²) Σ_k (Δ / 2E_k) tanh(E_k / 2kT),      tanh -> 1 at kT = 0,

    with k on the L×L grid 2π(m, n)/L. Honeycomb: the sublattice Bloch matrix of cell momentum k is
    h_k = -Δ σ_z - t (f_k σ_+ + h.c.), f_k = 1 + e^{ik·a1} + e^{ik·a2}, with E_k = √(t²|f_k|² + Δ²),
    and (n_A - n_B)/2 per cell gives the same sum with ε_k -> t|f_k| (:func:`_band_energies`). Checks:
    t -> 0 gives δ = tanh(Δ/2kT)/2 (the atomic limit, one electron on every Q > 0 site at kT = 0);
    Δ -> 0 gives δ -> 0.
    """
    eps = _band_energies(L, p)
    delta = p.g * Q0
    E = np.sqrt(eps**2 + delta**2)
    th = np.ones_like(E) if p.kT == 0 else np.tanh(E / (2 * p.kT))
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(E > 0, delta / (2 * E) * th, 0.0)
    return float(terms.mean())


def cdw_amplitude(p: HolsteinParams, L: int = 64) -> float:
    r"""Self-consistent amplitude Q0 >= 0 of the static staggered CDW Q_i = Q0 s_i at temperature p.kT.

    The force is F_i = s_i [g δ(Q0) - (k - zκ) Q0] (z = 4 square, 3 honeycomb neighbours, all of the
    other sign), so equilibrium solves g δ(Q0) = (k - zκ) Q0 with δ from :func:`cdw_delta`. Returns 0
    when only the uniform solution exists (above the mean-field CDW temperature, or below the critical
    coupling of the honeycomb's Dirac semimetal). In the atomic limit at kT = 0, Q0 = g / 2(k - zκ).
    """
    from scipy.optimize import brentq

    stiff = p.k - get(p.lattice).z * p.kappa
    gap = lambda q: p.g * cdw_delta(L, q, p) - stiff * q  # noqa: E731
    hi = p.g / (2 * stiff) + 1.0  # δ <= 1/2 bounds the root
    if gap(1e-8) <= 0:
        return 0.0
    return float(brentq(gap, 1e-8, hi, xtol=1e-13))


def cdw_relax(p: HolsteinParams, L: int, Q0: float = 0.05, iterations: int = 60) -> float:
    r"""The staggered amplitude that ED reaches from Q_i = Q0 s_i by the fixed-point iteration of F = 0,
    k Q = g (n(Q) - 1/2) - κ Σ_nn Q, on the L-lattice of ``p.lattice``: the ED check of
    :func:`cdw_amplitude` (equal to it where the CDW is stable; -> 0 below the onset)."""
    lat = get(p.lattice)
    s = torch.as_tensor(lat(L).stagger)
    Q = Q0 * s
    for _ in range(iterations):
        Q = (p.g * (density(Q, p) - 0.5) - p.kappa * lat.neighbour_sum(Q)) / p.k
    return float((Q * s).mean())


def cdw_critical_coupling(p: HolsteinParams, L: int = 64) -> float:
    r"""The mean-field coupling g_c above which the staggered CDW exists at p.kT: the linearised
    gap equation g² χ = k - zκ with χ = (1/L²) Σ_k tanh(ε_k / 2kT) / 2ε_k (ε_k = 0 terms: 1/4kT; at
    kT = 0 they diverge and g_c = 0, as on the square lattice's nested Fermi surface)."""
    eps = _band_energies(L, p)
    with np.errstate(invalid="ignore", divide="ignore"):
        if p.kT == 0:
            chi = np.where(eps > 0, 1 / (2 * eps), np.inf).mean()
        else:
            chi = np.where(eps > 1e-12, np.tanh(eps / (2 * p.kT)) / (2 * eps), 1 / (4 * p.kT)).mean()
    return float(np.sqrt((p.k - get(p.lattice).z * p.kappa) / chi))


def cdw_critical_temperature(p: HolsteinParams, L: int = 64, lo: float = 1e-3, hi: float = 50.0,
                             iterations: int = 50) -> float:
    """The mean-field T_c at p.g: the kT (units of t) where :func:`cdw_amplitude` vanishes, bisected on
    [lo, hi] (``iterations`` halvings; the midpoint of the last bracket)."""
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdw_amplitude(p.replace(kT=mid), L) > 0 else (lo, mid)
    return 0.5 * (lo + hi)
