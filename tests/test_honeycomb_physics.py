"""The Holstein model on the honeycomb lattice (ed, forces, dynamics with ``p.lattice = "honeycomb"``):
closed forms, finite differences and symmetry, as the square lattice is tested in test_ed.py."""
import numpy as np
import pytest
import torch

from holstein import PAPER, dynamics, ed
from holstein.forces import elastic, elastic_energy
from holstein.lattice import HoneycombLattice, as_field
from holstein.lattice.honeycomb import neighbour_sum

HC = PAPER.replace(lattice="honeycomb")


def _random_Q(L, B=None, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (L, L, 2) if B is None else (B, L, L, 2)
    return scale * torch.randn(shape, generator=g, dtype=torch.float64)


def test_params_know_the_lattice_and_keep_square_fingerprints():
    assert "lattice" not in PAPER.to_dict() and HC.to_dict()["lattice"] == "honeycomb"
    assert ed.force_id(PAPER) == ed.force_id(PAPER.replace(lattice="square")) != ed.force_id(HC)
    PAPER.replace(lattice="honeycomb", kappa=0.3)  # stable: k > 3|κ| on three bonds, unstable on four
    with pytest.raises(ValueError, match="unstable unless k > 4"):
        PAPER.replace(kappa=0.3)
    with pytest.raises(ValueError, match="unstable unless k > 3"):
        HC.replace(kappa=0.34)
    with pytest.raises(ValueError, match="unknown lattice 'kagome'"):
        PAPER.replace(lattice="kagome")


@pytest.mark.parametrize("L", [3, 4, 6])
def test_neighbour_sum_is_the_adjacency_of_the_lattice(L):
    lat = HoneycombLattice(L)
    Q = _random_Q(L, seed=L).numpy()
    A = np.zeros((lat.N, lat.N))
    np.add.at(A, (np.repeat(np.arange(lat.N), 3), lat.neighbours.ravel()), 1.0)
    np.testing.assert_allclose(neighbour_sum(Q).reshape(-1), A @ Q.reshape(-1), atol=1e-12)
    np.testing.assert_allclose(neighbour_sum(torch.as_tensor(Q)).numpy(), neighbour_sum(Q), atol=0)


@pytest.mark.parametrize("L", [3, 6])
def test_uniform_Q_spectrum_is_the_dirac_bands_shifted_by_gQ(L):
    c = 0.37
    eps, _ = ed.spectrum(torch.full((L, L, 2), c, dtype=torch.float64), HC)
    np.testing.assert_allclose(eps.numpy(), HoneycombLattice(L).bands(HC.t) - HC.g * c, atol=1e-12)


@pytest.mark.parametrize("kT", [0.0, 0.1, 2.0])
def test_sublattice_cdw_density_is_the_closed_form(kT):
    L, Q0 = 6, 0.4
    p = HC.replace(kT=kT)
    Q = Q0 * torch.as_tensor(HoneycombLattice(L).stagger)
    n = ed.density(Q, p)
    delta = ed.cdw_delta(L, Q0, p)
    assert 0 < delta < 0.5
    np.testing.assert_allclose(n.numpy(), 0.5 + delta * HoneycombLattice(L).stagger, atol=1e-11)


@pytest.mark.parametrize("kT", [0.0, 0.3])
def test_force_is_minus_the_gradient_of_the_free_energy(kT):
    p = HC.replace(kT=kT)
    Q = _random_Q(3, scale=0.8, seed=1).requires_grad_(True)
    grad, = torch.autograd.grad(ed.free_energy(Q, p), Q)
    F = ed.forces(Q.detach(), p)
    np.testing.assert_allclose(F.numpy(), -grad.numpy(), atol=1e-9)
    h, i = 1e-5, (1, 2, 1)  # and by a central difference at one site
    Qp, Qm = Q.detach().clone(), Q.detach().clone()
    Qp[i] += h
    Qm[i] -= h
    fd = -(ed.free_energy(Qp, p) - ed.free_energy(Qm, p)) / (2 * h)
    assert abs(fd.item() - F[i].item()) < 1e-6


def test_elastic_force_is_minus_the_gradient_of_the_elastic_energy_over_three_bonds():
    Q = _random_Q(4, B=2, seed=2).requires_grad_(True)
    grad, = torch.autograd.grad(elastic_energy(Q, HC).sum(), Q)
    np.testing.assert_allclose(elastic(Q.detach(), HC).numpy(), -grad.numpy(), atol=1e-12)
    staggered = torch.as_tensor(HoneycombLattice(4).stagger)  # F^el = -(k - 3κ) Q on the sublattice CDW
    np.testing.assert_allclose(elastic(staggered, HC).numpy(), -(HC.k - 3 * HC.kappa) * staggered.numpy())


def test_ed_forces_are_equivariant_under_all_12_point_group_operations_and_translations():
    L = 3
    lat = HoneycombLattice(L)
    Q = _random_Q(L, seed=3)
    F = ed.forces(Q, HC)
    ops = [(lambda a, g=g: lat.apply(a, g)) for g in lat.point_group]
    ops += [(lambda a, d=d: lat.translate(a, *d)) for d in ((1, 0), (0, 2), (2, 1))]
    for op in ops:
        np.testing.assert_allclose(ed.forces(op(Q), HC).numpy(), op(F).numpy(), atol=1e-10)


def test_cdw_sets_in_at_the_mean_field_critical_coupling_and_ed_finds_it():
    p = HC.replace(kT=0.1)
    L = 12
    gc = ed.cdw_critical_coupling(p, L=L)
    assert 1.0 < gc < 1.1  # the Dirac semimetal needs a finite coupling (the square lattice's g_c -> 0)
    assert ed.cdw_amplitude(p.replace(g=0.95 * gc), L=L) == 0.0 < ed.cdw_amplitude(p.replace(g=1.05 * gc), L=L)
    for g, grows in ((0.9 * gc, False), (1.2 * gc, True)):  # ED relaxation of a small sublattice imbalance
        q = p.replace(g=g)
        amp = ed.cdw_relax(q, L)
        assert (amp > 0.05) is grows
        if grows:
            assert amp == pytest.approx(ed.cdw_amplitude(q, L=L), rel=1e-3)


def test_fields_of_the_other_lattice_are_refused_in_one_line():
    with pytest.raises(ValueError, match=r"honeycomb field of shape \(L, L, 2\)"):
        ed.forces(torch.zeros(4, 4, dtype=torch.float64), HC)
    with pytest.raises(ValueError, match="square in its last two dims"):
        ed.forces(torch.zeros(4, 4, 2, dtype=torch.float64), PAPER)
    assert as_field(np.zeros((3, 3, 2)), lattice="honeycomb").dtype == torch.float64


def test_langevin_on_the_honeycomb_batched_equals_one_by_one_and_keeps_its_shape():
    L, seeds = 3, [5, 9]
    p = HC.replace(kT=0.5)
    force = lambda Q: ed.forces(Q, p)  # noqa: E731
    Q0, V0 = dynamics.hot_start(L, p, seed=seeds, batch=2)
    assert Q0.shape == (2, L, L, 2)
    st = dynamics.init(Q0, force, p, V0=V0, seed=seeds)
    for _ in range(3):
        st = dynamics.step(st, force, p)
    assert st.batched and st.L == L and st.lattice == "honeycomb"
    for b, s in enumerate(seeds):
        one = dynamics.init(Q0[b], force, p, V0=V0[b], seed=[s])
        for _ in range(3):
            one = dynamics.step(one, force, p)
        assert not one.batched
        np.testing.assert_array_equal(one.Q.numpy(), st.Q[b].numpy())
    back = dynamics.State.from_dict(st.to_dict())
    assert back.lattice == "honeycomb" and torch.equal(back.Q, st.Q)


@pytest.mark.parametrize("max_memory", [2**28, 0])  # per-site moments stored, or the two-pass recurrence
def test_kpm_on_the_honeycomb_is_ed_with_exact_probing_and_covariant_with_period_probes(max_memory):
    from holstein import kpm

    p = HC.replace(kT=0.3)
    L = 6
    Q = _random_Q(L, B=2, scale=2.0, seed=4)
    sol = kpm.solve(Q, p, probe_distance=L, tol=1e-9, max_memory=max_memory)  # P = L: every probe one site
    np.testing.assert_allclose(sol.n.numpy(), ed.density(Q, p).numpy(), atol=1e-7)
    np.testing.assert_allclose(sol.n.sum(dim=(-3, -2, -1)).numpy(), L * L, atol=1e-9)  # half of 2L²
    lat = HoneycombLattice(L)
    n3 = kpm.density(Q[0], p, probe_distance=3, tol=1e-9)  # P = 3: translations by 3 cells keep the colours
    np.testing.assert_allclose(kpm.density(lat.translate(Q[0], 3, 0), p, probe_distance=3, tol=1e-9).numpy(),
                               lat.translate(n3, 3, 0).numpy(), atol=1e-10)
    assert float((n3 - ed.density(Q[0], p)).abs().max()) < 0.05
