"""holstein.lattice.honeycomb: the convention, the Dirac bands, C6v and translations."""
import numpy as np
import pytest

from holstein.lattice import HoneycombLattice


@pytest.mark.parametrize("L", [3, 4, 6])
def test_neighbours_follow_the_convention_and_are_unit_bonds(L):
    lat = HoneycombLattice(L)
    i = lat.index(1, 2, 0)  # A(1, 2)
    assert set(lat.neighbours[i]) == {lat.index(1, 2, 1), lat.index(0, 2, 1), lat.index(1, 1, 1)}
    for j in range(lat.N):  # every bond has length 1 (minimum image) and is mutual
        for k in lat.neighbours[j]:
            assert j in lat.neighbours[k]
    d = lat.distances
    assert sorted(d[lat.neighbours[0]]) == pytest.approx([1, 1, 1])
    assert lat.stagger.shape == (L, L, 2) and lat.stagger[..., 0].min() == 1 and lat.stagger[..., 1].max() == -1


@pytest.mark.parametrize("L", [3, 4, 6])
def test_uniform_spectrum_is_the_two_bands(L):
    lat = HoneycombLattice(L)
    eps = np.linalg.eigvalsh(lat.hopping_matrix(1.0))
    np.testing.assert_allclose(eps, lat.bands(1.0), atol=1e-10)
    if L % 3 == 0:
        assert np.sum(np.abs(eps) < 1e-10) == 4  # the two Dirac points, two bands each


@pytest.mark.parametrize("L", [3, 6])
def test_point_group_has_12_permutations_that_keep_bonds_and_distances(L):
    lat = HoneycombLattice(L)
    ops = lat.point_group
    assert len(ops) == 12 and len({tuple(p) for p in ops}) == 12
    bonds = {frozenset((i, int(j))) for i in range(lat.N) for j in lat.neighbours[i]}
    for p in ops:
        assert sorted(p) == list(range(lat.N))
        assert {frozenset((int(p[i]), int(p[j]))) for i, j in map(tuple, bonds)} == bonds
    swaps = [bool(np.all(lat.coords(p[::2])[2] == 1)) for p in ops]  # A sites all go to B
    assert sum(swaps) == 6  # the odd rotations and their mirror partners exchange the sublattices
    stagger = lat.stagger
    for p, swap in zip(ops, swaps):
        np.testing.assert_array_equal(lat.apply(stagger, p), -stagger if swap else stagger)


def test_translations_and_apply_are_permutations_of_a_field():
    lat = HoneycombLattice(4)
    F = np.random.default_rng(0).normal(size=(2, 4, 4, 2))
    T = lat.translate(F, 1, 0)
    np.testing.assert_array_equal(T[:, 1], F[:, 0])  # cell (x, y) moved to (x + 1, y)
    np.testing.assert_array_equal(lat.translate(T, -1, 0), F)
    shells = lat.shells(2.0)
    assert [round(r, 6) for r, _ in shells] == [1.0, round(np.sqrt(3), 6), 2.0]
    assert [len(s) for _, s in shells] == [3, 6, 3]
