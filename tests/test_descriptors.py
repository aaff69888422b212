"""D4 irrep basis and invariant descriptors (holstein/descriptors.py); the BP-MLP model is in test_bp_mlp.py."""
import numpy as np
import pytest
import torch

from holstein import descriptors as desc
from holstein.lattice import D4_OPS, shell_offsets, translate

# the 8 point operations on offsets, R^k and R^k M, with their conjugacy class
_R = np.array([[0, -1], [1, 0]])
_M = np.array([[-1, 0], [0, 1]])
_OPS = [np.linalg.matrix_power(_R, k) @ (_M if m else np.eye(2, dtype=int)) for m in (0, 1) for k in range(4)]
_CLASS = ["E", "C4", "C2", "C4", "σv", "σd", "σv", "σd"]
#: character table of D4 over the classes (E, C2, C4, σv = axis mirrors, σd = diagonal mirrors)
_CHI = {"A1": dict(E=1, C2=1, C4=1, σv=1, σd=1), "A2": dict(E=1, C2=1, C4=1, σv=-1, σd=-1),
        "B1": dict(E=1, C2=1, C4=-1, σv=1, σd=-1), "B2": dict(E=1, C2=1, C4=-1, σv=-1, σd=1)}
_OFFS = np.concatenate([np.zeros((1, 2), int)] + shell_offsets())  # (45, 2)


def _perm(G):
    """Permutation matrix of the neighbourhood for the point operation G: (Pq)_{Gδ} = q_δ."""
    lookup = {tuple(o): k for k, o in enumerate(_OFFS)}
    P = np.zeros((45, 45))
    for k, o in enumerate(_OFFS):
        P[lookup[tuple(G @ o)], k] = 1.0
    return P


def test_basis_is_orthogonal_with_the_right_irrep_counts():
    U, labels = desc.irrep_basis()
    assert U.shape == (45, 45) and len(labels) == 45
    assert np.allclose(U @ U.T, np.eye(45), atol=1e-14)
    counts = {g: sum(lab.startswith(g) for lab in labels) for g in ("A1", "A2", "B1", "B2", "E")}
    assert counts == {"A1": 9, "A2": 3, "B1": 6, "B2": 5, "E": 22}
    assert desc.IRREP_COUNTS == {"A1": 9, "A2": 3, "B1": 6, "B2": 5, "E": 11}
    sl = desc.irrep_slices()
    assert all(lab.startswith(g) for g, s in sl.items() for lab in labels[s])
    # axial 4-site shells carry B1, diagonal ones B2, 8-site shells one of each
    assert [lab for lab in labels if lab.startswith("B1")] == ["B1[1]", "B1[4]", "B1[5]", "B1[9]", "B1[10]", "B1[13]"]
    assert [lab for lab in labels if lab.startswith("B2")] == ["B2[2]", "B2[5]", "B2[8]", "B2[10]", "B2[13]"]


@pytest.mark.parametrize("op", range(8))
def test_coefficients_transform_by_the_character_table(op):
    """U T(g) Uᵀ is block diagonal: χ_Γ(g) on 1-d rows, the 2×2 matrix g on each E pair."""
    U, labels = desc.irrep_basis()
    G = _OPS[op]
    W = U @ _perm(G) @ U.T
    want = np.zeros((45, 45))
    for r, lab in enumerate(labels[:23]):
        want[r, r] = _CHI[lab[:2]][_CLASS[op]]
    for r in range(23, 45, 2):
        want[r:r + 2, r:r + 2] = G
    assert np.abs(W - want).max() < 1e-14


@pytest.mark.parametrize("L", [8, 10])
@pytest.mark.parametrize("extended", [False, True])
def test_descriptor_fields_are_covariant(L, extended):
    Q = torch.randn(2, L, L)
    d = desc.descriptors(Q, extended=extended)
    D = desc.DESCRIPTOR_LENGTH_EXTENDED if extended else desc.DESCRIPTOR_LENGTH
    assert d.shape == (2, L, L, D) and d.dtype == torch.float64
    field = d.permute(0, 3, 1, 2)  # (B, D, L, L): D scalar fields
    for op in D4_OPS:
        got = desc.descriptors(op(Q), extended=extended).permute(0, 3, 1, 2)
        assert (got - op(field)).abs().max() < 1e-12
    for dx, dy in [(1, 0), (0, 1), (3, -2)]:
        got = desc.descriptors(translate(Q, dx, dy), extended=extended).permute(0, 3, 1, 2)
        assert (got - translate(field, dx, dy)).abs().max() < 1e-12


def test_site_descriptor_invariant_under_point_group():
    q = torch.randn(5, 45)
    d = desc.neighbourhood_descriptors(q, extended=True)
    for G in _OPS:
        P = torch.as_tensor(_perm(G))
        assert (desc.neighbourhood_descriptors(q @ P.T, extended=True) - d).abs().max() < 1e-12


def test_relative_phases_see_what_the_power_spectrum_misses():
    """Rotating a single shell keeps every |b|² but changes the relative orientation terms."""
    q = torch.randn(45)
    d = desc.neighbourhood_descriptors(q)
    shell4 = _perm(_R)  # rotate every shell by 90°, then keep the rotation only on r² = 4
    P = np.eye(45)
    s = slice(9, 13)  # centre + r²=1 (4) + r²=2 (4) -> r²=4 occupies columns 9..12
    assert all(int(o @ o) == 4 for o in _OFFS[s])
    P[s, s] = shell4[s, s]
    d2 = desc.neighbourhood_descriptors(torch.as_tensor(P) @ q)
    assert torch.allclose(d2[:34], d[:34], atol=1e-12)  # A1 coefficients and power spectrum
    assert (d2[34:] - d[34:]).abs().max() > 1e-3  # E · E_ref differ
    # a generic change of the field changes the descriptor
    assert (desc.neighbourhood_descriptors(q + 0.1 * torch.randn(45)) - d).abs().max() > 1e-3


def test_sign_and_rank():
    """A1 coefficients are odd in Q, all other invariants even; the 45 invariants are independent."""
    q = torch.randn(45)
    d, dm = desc.neighbourhood_descriptors(q), desc.neighbourhood_descriptors(-q)
    assert torch.allclose(dm[:9], -d[:9]) and torch.allclose(dm[9:44], d[9:44]) and torch.allclose(dm[44], -d[44])
    J = torch.autograd.functional.jacobian(desc.neighbourhood_descriptors, q)  # (45, 45)
    assert torch.linalg.matrix_rank(J).item() == 45
    # centre coefficient is Q_i itself
    assert torch.isclose(d[0], q[0])


def test_shapes_labels_and_errors():
    Q = torch.randn(6, 6)
    assert desc.descriptors(Q).shape == (6, 6, 45)
    assert desc.descriptors(Q.numpy()).shape == (6, 6, 45)
    assert desc.descriptors(Q.float()).dtype == torch.float32
    assert desc.neighbourhoods(Q[None]).shape == (1, 36, 45)
    with pytest.raises(ValueError, match="shape"):
        desc.descriptors(torch.randn(4))
    with pytest.raises(ValueError, match="45"):
        desc.neighbourhood_descriptors(torch.randn(3, 44))
    with pytest.raises(ValueError, match="floating"):
        desc.descriptors(torch.ones(4, 4, dtype=torch.int64))


def test_cached_bases_survive_inference_mode():
    """A first (cold-cache) call under torch.inference_mode must not cache inference tensors that a
    later autograd call saves for backward (it did: the bench's float32 timing broke this file's
    Jacobian test). A subprocess gives cold caches without touching private names."""
    import subprocess
    import sys

    code = ("import torch; from holstein import descriptors as d, SquareLattice\n"
            "with torch.inference_mode():\n"
            "    d.neighbourhood_descriptors(torch.randn(45)); d.descriptors(torch.randn(6, 6))\n"
            "q = torch.randn(45, requires_grad=True); d.neighbourhood_descriptors(q).sum().backward()\n"
            "Q = torch.randn(6, 6, requires_grad=True); d.descriptors(Q).sum().backward()\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]


def test_irrep_table_counts_each_shell_and_sums_to_the_irrep_counts():
    table = desc.irrep_table()
    assert list(table)[:2] == ["centre", "r^2 = 1"] and len(table) == 9
    assert sum(row["sites"] for row in table.values()) == 45
    assert {g: sum(row[g] for row in table.values()) for g in desc.IRREP_COUNTS} == desc.IRREP_COUNTS
    assert table["r^2 = 5"] == dict(sites=8, A1=1, A2=1, B1=1, B2=1, E=2)
    for row in table.values():  # dimensions add up: E is a doublet
        assert row["sites"] == sum(row[g] for g in ("A1", "A2", "B1", "B2")) + 2 * row["E"]
