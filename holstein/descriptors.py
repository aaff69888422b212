r"""D4-invariant descriptors of the 45-site neighbourhood of every lattice site.

A Behler–Parrinello force field predicts F_i from ``q_δ = Q_{i+δ}`` on the site and its 8 shells
r² ∈ {1, 2, 4, 5, 8, 9, 10, 13} (:func:`holstein.lattice.shell_offsets`), 45 numbers. F_i is a
scalar field, so the descriptor is a set of exactly D4-invariant functions of q (Zhang, Zhang &
Chern, arXiv:2201.00798; Zhang, Fan, Chern et al. for the Holstein model).

1. Irreducible decomposition (the 45 × 45 orthogonal basis)
-----------------------------------------------------------
g ∈ D4 = {R^k, R^k M} (``R = [[0,-1],[1,0]]``, ``M = diag(-1, 1)``) acts on neighbourhoods by
``(T(g) q)_δ = q_{g⁻¹δ}``; each shell is one D4 orbit. The irreps and their carrier polynomials:

    ====  ===  ====  ====  ============  ==============  ==========
    Γ      E    C2   2C4   2σ (axes)     2σ_d (diag.)    carrier
    ====  ===  ====  ====  ============  ==============  ==========
    A1     1     1     1     1             1             1
    A2     1     1     1    -1            -1             xy(x²-y²)
    B1     1     1    -1     1            -1             x²-y²
    B2     1     1    -1    -1             1             xy
    E      2    -2     0     0             0             (x, y)
    ====  ===  ====  ====  ============  ==============  ==========

The projectors ``P_Γ = (d_Γ/8) Σ_g χ_Γ(g) T(g)`` (for E, ``P^E_{mn} = (2/8) Σ_g D_{mn}(g) T(g)``,
D(g) = g) applied to one site of an orbit give a 1-d irrep's vector as the sign of its carrier
polynomial at δ, and an E pair as v(δ) = D(g_δ) ê_n. Per shell:

* centre: A1 = 1;
* axial 4-site shells (r² = 1, 4, 9): A1 + B1 + E, u_A1 = 1/2, u_B1 = sgn(x² - y²)/2,
  v_E = (sgn x, sgn y)/√2;
* diagonal 4-site shells (r² = 2, 8): A1 + B2 + E, u_A1 = 1/2, u_B2 = sgn(xy)/2,
  v_E = (sgn x, sgn y)/2;
* 8-site shells (r² = 5, 10, 13): the regular representation A1 + A2 + B1 + B2 + 2E,
  u = (1, sgn xy(x² - y²), sgn(x² - y²), sgn xy)/√8; ``v_a`` the unit vector along the major axis
  of δ over 2, ``v_b`` along the minor axis over 2.

The 45 rows form an orthogonal matrix U: A1 × 9, A2 × 3, B1 × 6, B2 × 5, E × 11
(9 + 3 + 6 + 5 + 2·11 = 45), and the coefficients b = U q transform as

    b_Γ(T(g) q) = χ_Γ(g) b_Γ(q)            (1-d irreps),
    e(T(g) q)   = g e(q)                    (E pairs, e = (e_x, e_y)).

Row order of U: A1 (centre, r² = 1, 2, 4, 5, 8, 9, 10, 13), A2 (r² = 5, 10, 13),
B1 (r² = 1, 4, 5, 9, 10, 13), B2 (r² = 2, 5, 8, 10, 13), E (r² = 1, 2, 4, 5a, 5b, 8, 9, 10a,
10b, 13a, 13b; x then y component of each pair), labelled by :func:`irrep_basis`.

2. Invariants (D = 45)
----------------------
With the reference irreps of the √5 shell (the nearest that carries every irrep),
``e_ref = E(5a)``, ``b_B1,ref = B1(5)``:

* ``[0:9]``   the 9 A1 coefficients (signed, linear in Q);
* ``[9:34]``  the power spectrum b² of the 14 one-dimensional non-trivial copies and |e|² of the
  11 E copies;
* ``[34:44]`` the relative phases e · e_ref of the 10 other E copies;
* ``[44]``    b_B1,ref · (e_ref,x² - e_ref,y²), the orientation of e_ref against the axes.

A1 is not squared: particle–hole symmetry makes the force odd, F(-Q) = -F(Q), which an even
descriptor could not represent. e × e_ref is A2, not invariant. The 45 invariants are
functionally independent (the Jacobian ∂d/∂q has rank 45 at a generic q, tested); what remains
undetermined is discrete (relative signs of the copies of A2, B1, B2, the handedness of each E
copy). ``extended=True`` appends the 11 sign-relative products b · b_ref of the other 1-d copies
(A2: 2, B1: 5, B2: 4), D = 56. All invariants are polynomials of degree ≤ 3 in Q.

Shapes: ``Q: (B, L, L)`` or ``(L, L)``; neighbourhoods ``(B, N, 45)`` in the site order of
:attr:`SquareLattice.shell_sites`; descriptors ``(B, L, L, D)`` (or ``(L, L, D)``). Torch,
differentiable, any floating dtype and device.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from .lattice import SHELL_RADII2, SquareLattice, check_field, shell_offsets

__all__ = ["DESCRIPTOR_LENGTH", "DESCRIPTOR_LENGTH_EXTENDED", "IRREP_COUNTS", "irrep_basis", "irrep_slices", "irrep_table",
           "neighbourhoods", "neighbourhood_descriptors", "descriptors"]

#: Number of copies of each irrep in the 45-site neighbourhood (E counted as doublets).
IRREP_COUNTS = {"A1": 9, "A2": 3, "B1": 6, "B2": 5, "E": 11}
#: Length of the default descriptor (see the module docstring).
DESCRIPTOR_LENGTH = 45
#: Length with the 11 sign-relative products of the 1-d irreps appended.
DESCRIPTOR_LENGTH_EXTENDED = 56

_IRREPS = ("A1", "A2", "B1", "B2", "E")


def _shell_vectors(offs: np.ndarray) -> list[tuple[str, str, np.ndarray]]:
    """Orthonormal irrep basis of one shell: ``[(irrep, tag, vector (n,) or (2, n))]``."""
    x, y = offs[:, 0].astype(float), offs[:, 1].astype(float)
    n = len(offs)
    sx, sy = np.sign(x), np.sign(y)
    out = [("A1", "", np.ones(n) / np.sqrt(n))]
    if n == 4 and (x * y == 0).all():  # axial: A1 + B1 + E
        out.append(("B1", "", np.sign(x * x - y * y) / 2))
        out.append(("E", "", np.stack([sx, sy]) / np.sqrt(2)))
    elif n == 4:  # diagonal: A1 + B2 + E
        out.append(("B2", "", np.sign(x * y) / 2))
        out.append(("E", "", np.stack([sx, sy]) / 2))
    else:  # 8 sites: the regular representation A1 + A2 + B1 + B2 + 2E
        major_x = np.abs(x) > np.abs(y)
        out.append(("A2", "", np.sign(x * y * (x * x - y * y)) / np.sqrt(8)))
        out.append(("B1", "", np.sign(x * x - y * y) / np.sqrt(8)))
        out.append(("B2", "", np.sign(x * y) / np.sqrt(8)))
        out.append(("E", "a", np.stack([np.where(major_x, sx, 0), np.where(major_x, 0, sy)]) / 2))
        out.append(("E", "b", np.stack([np.where(major_x, 0, sx), np.where(major_x, sy, 0)]) / 2))
    return out


@lru_cache(maxsize=None)
def _basis_cached() -> tuple[np.ndarray, tuple[str, ...]]:
    shells = shell_offsets()
    sizes = [len(s) for s in shells]
    starts = np.cumsum([1] + sizes[:-1])  # column of each shell's first site (centre = column 0)
    rows: dict[str, list[tuple[str, np.ndarray]]] = {g: [] for g in _IRREPS}
    rows["A1"].append(("A1[0]", np.eye(45)[0]))
    for r2, offs, s0 in zip(SHELL_RADII2, shells, starts):
        for irrep, tag, vec in _shell_vectors(offs):
            for comp, v in (zip((".x", ".y"), vec) if irrep == "E" else [("", vec)]):
                full = np.zeros(45)
                full[s0:s0 + len(offs)] = v
                rows[irrep].append((f"{irrep}[{r2}{tag}]{comp}", full))
    labels = tuple(lab for g in _IRREPS for lab, _ in rows[g])
    U = np.stack([v for g in _IRREPS for _, v in rows[g]])
    U.setflags(write=False)
    return U, labels


def irrep_basis() -> tuple[np.ndarray, list[str]]:
    """The (45, 45) orthogonal matrix U and a label per row.

    ``b = U @ q`` maps a neighbourhood ``q: (45,)`` (centre, then the 8 shells in the order of
    :attr:`SquareLattice.shell_sites`) to irrep coefficients. Labels read ``"B1[5]"`` (irrep,
    shell r²) and ``"E[10a].y"`` (E copy a of the r² = 10 shell, y component).
    """
    U, labels = _basis_cached()
    return U.copy(), list(labels)


def irrep_slices() -> dict[str, slice]:
    """Where each irrep sits in the rows of U: A1 0:9, A2 9:12, B1 12:18, B2 18:23, E 23:45."""
    out, start = {}, 0
    for g in _IRREPS:
        n = IRREP_COUNTS[g] * (2 if g == "E" else 1)
        out[g] = slice(start, start + n)
        start += n
    return out


def irrep_table() -> dict[str, dict[str, int]]:
    """The irrep content of each shell, read off the labels of :func:`irrep_basis`:
    ``{"centre" | "r^2 = <r²>": {"sites": n, "A1": .., "A2": .., "B1": .., "B2": .., "E": ..}}``, in the
    order of the neighbourhood, E doublets counted once (the columns sum to :data:`IRREP_COUNTS`)."""
    names = {"0": "centre", **{str(r2): f"r^2 = {r2}" for r2 in SHELL_RADII2}}
    sizes = [1] + [len(s) for s in shell_offsets()]
    table = {name: dict(sites=n, **dict.fromkeys(_IRREPS, 0)) for name, n in zip(names.values(), sizes)}
    for lab in _basis_cached()[1]:
        if not lab.endswith(".y"):  # an E pair is counted once
            irrep, shell = lab.split("[")[0], lab.split("[")[1].split("]")[0].rstrip("ab")
            table[names[shell]][irrep] += 1
    return table


# positions of the √5 reference copies inside each irrep block
_REF = {"A2": 0, "B1": 2, "B2": 1, "E": 3}


@lru_cache(maxsize=None)
def _U_tensor(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):  # cached: must stay usable by autograd after an inference call
        return torch.tensor(np.array(_basis_cached()[0]), dtype=dtype, device=device)


@lru_cache(maxsize=None)
def _sites_tensor(L: int, device: torch.device) -> torch.Tensor:
    with torch.inference_mode(False):
        return torch.as_tensor(SquareLattice(L).shell_sites, device=device)


def _as_field(Q) -> tuple[torch.Tensor, bool]:
    """(Q as a (B, L, L) tensor, whether it was (L, L))."""
    Q = torch.as_tensor(Q)
    if not Q.dtype.is_floating_point:
        raise ValueError(f"Q must be a floating-point field, got dtype {Q.dtype}")
    check_field(Q)
    return (Q[None], True) if Q.dim() == 2 else (Q, False)


def neighbourhoods(Q) -> torch.Tensor:
    """Gather the 45-site neighbourhood of every site: ``(B, L, L)`` -> ``(B, N, 45)``.

    ``out[b, i, k] = Q[b].flatten()[shell_sites[i, k]]`` with i = x·L + y. For L < 8 the shells
    wrap onto each other (a site may appear more than once); everything stays well defined.
    """
    Q, _ = _as_field(Q)
    B, L = Q.shape[0], Q.shape[-1]
    return Q.reshape(B, L * L)[:, _sites_tensor(L, Q.device)]  # (B, N, 45)


def neighbourhood_descriptors(q: torch.Tensor, extended: bool = False) -> torch.Tensor:
    """Invariant descriptor of neighbourhoods ``q: (..., 45)`` -> ``(..., D)``, D = 45 (56 if extended).

    See the module docstring for the layout; every component is a D4-invariant polynomial of q.
    """
    if q.shape[-1] != 45:
        raise ValueError(f"neighbourhoods must have a last dimension of 45, got {tuple(q.shape)}")
    coefficients = q @ _U_tensor(q.dtype, q.device).T  # b = U q, (..., 45)
    b = {g: coefficients[..., sl] for g, sl in irrep_slices().items()}
    e = b["E"].reshape(*q.shape[:-1], 11, 2)
    eref = e[..., _REF["E"], :]  # (..., 2)
    others = [k for k in range(11) if k != _REF["E"]]
    parts = [
        b["A1"],                                            # 9, linear (signed)
        b["A2"] ** 2, b["B1"] ** 2, b["B2"] ** 2,           # 14
        (e * e).sum(-1),                                    # 11
        (e[..., others, :] * eref[..., None, :]).sum(-1),   # 10
        (b["B1"][..., _REF["B1"]] * (eref[..., 0] ** 2 - eref[..., 1] ** 2))[..., None],  # 1
    ]
    if extended:
        for g in ("A2", "B1", "B2"):
            ref = b[g][..., _REF[g]: _REF[g] + 1]
            keep = [k for k in range(IRREP_COUNTS[g]) if k != _REF[g]]
            parts.append(b[g][..., keep] * ref)             # 2 + 5 + 4
    return torch.cat(parts, dim=-1)


def descriptors(Q, extended: bool = False) -> torch.Tensor:
    """D4-invariant descriptors of every site: ``(B, L, L)`` -> ``(B, L, L, D)``, ``(L, L)`` -> ``(L, L, D)``.

    Each component is a scalar field: for any lattice symmetry g (D4 about any point, composed
    with translations), ``descriptors(g Q) = g descriptors(Q)`` component by component.
    """
    Q, squeeze = _as_field(Q)
    B, L = Q.shape[0], Q.shape[-1]
    d = neighbourhood_descriptors(neighbourhoods(Q), extended=extended)  # (B, N, D)
    d = d.reshape(B, L, L, d.shape[-1])
    return d[0] if squeeze else d
