import numpy as np
import pytest
import torch

from holstein.lattice import D4_OPS, SquareLattice, check_field, neighbour_sum, shell_offsets, translate


@pytest.mark.parametrize("L", [1, 3, 0, 7, -2])
def test_odd_or_small_L_rejected(L):
    with pytest.raises(ValueError, match="even"):
        SquareLattice(L)


def test_shells():
    shells = shell_offsets()
    assert [len(s) for s in shells] == [4, 4, 4, 8, 4, 4, 8, 8]
    assert sum(len(s) for s in shells) + 1 == 45
    r2 = [sorted({int(dx * dx + dy * dy) for dx, dy in s}) for s in shells]
    assert r2 == [[1], [2], [4], [5], [8], [9], [10], [13]]
    # each shell is closed under the 90° rotation (dx, dy) -> (-dy, dx) and the mirror
    for s in shells:
        S = {tuple(o) for o in s}
        assert {(-dy, dx) for dx, dy in S} == S and {(-dx, dy) for dx, dy in S} == S


def test_neighbours_and_index():
    lat = SquareLattice(6)
    assert lat.neighbours.shape == (36, 4)
    i = lat.index(0, 5)
    assert set(lat.neighbours[i]) == {lat.index(1, 5), lat.index(5, 5), lat.index(0, 0), lat.index(0, 4)}
    assert lat.coords(i) == (0, 5)
    assert lat.shell_sites.shape == (36, 45) and (lat.shell_sites[:, 0] == np.arange(36)).all()
    K = lat.hopping_matrix(1.0)
    assert np.allclose(K, K.T) and (K.sum(1) == -4).all()


@pytest.mark.parametrize("L", [4, 6])
def test_bands_are_the_hopping_spectrum(L):
    """The uniform-Q levels -2t(cos kx + cos ky) are the eigenvalues of the hopping matrix."""
    lat = SquareLattice(L)
    np.testing.assert_allclose(lat.bands(0.7), np.linalg.eigvalsh(lat.hopping_matrix(0.7)), atol=1e-12)


def test_neighbour_sum_matches_table():
    lat = SquareLattice(6)
    a = np.random.default_rng(0).normal(size=(6, 6))
    want = a.ravel()[lat.neighbours].sum(1).reshape(6, 6)
    assert np.allclose(neighbour_sum(a), want)
    assert torch.allclose(neighbour_sum(torch.as_tensor(a)), torch.as_tensor(want))


def test_stagger_and_symmetries_form_a_group():
    lat = SquareLattice(4)
    assert lat.stagger[0, 0] == 1 and lat.stagger[0, 1] == -1 and lat.stagger.sum() == 0
    a = np.arange(16.0).reshape(4, 4)
    images = {D4_OPS[k](a).tobytes() for k in range(8)}
    assert len(images) == 8  # the 8 operations are distinct
    for op in D4_OPS:  # each preserves nearest-neighbour structure: commutes with neighbour_sum
        assert np.allclose(op(neighbour_sum(a)), neighbour_sum(op(a)))
    assert np.allclose(translate(translate(a, 1, 2), -1, -2), a)


def test_check_field_errors():
    with pytest.raises(ValueError, match="shape"):
        check_field(torch.zeros(4))
    with pytest.raises(ValueError, match="square"):
        check_field(torch.zeros(4, 6))
    with pytest.raises(ValueError, match="even"):
        check_field(torch.zeros(5, 5))
    with pytest.raises(ValueError, match="NaN"):
        check_field(torch.full((4, 4), float("nan")))
    assert check_field(np.zeros((3, 4, 4))) == 4
