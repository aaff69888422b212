"""holstein.forces: the elastic stencil against its energy, and the one density -> force rule."""
import numpy as np
import torch

from holstein import forces
from holstein.lattice import SquareLattice
from holstein.params import PAPER


def test_elastic_force_is_minus_the_gradient_of_the_energy():
    Q = 2 * torch.randn(2, 6, 6, requires_grad=True)
    (grad,) = torch.autograd.grad(forces.elastic_energy(Q, PAPER).sum(), Q)
    torch.testing.assert_close(forces.elastic(Q, PAPER), -grad, rtol=0, atol=1e-12)


def test_elastic_energy_is_the_bond_sum():
    """V = (k/2) Σ Q² + κ Σ_<ij> Q_i Q_j, each bond once (2N bonds on the periodic square lattice)."""
    L = 4
    Q = np.random.default_rng(0).normal(size=(L, L))
    lat = SquareLattice(L)
    bonds = {tuple(sorted((i, int(j)))) for i, nb in enumerate(lat.neighbours) for j in nb}
    assert len(bonds) == 2 * L * L
    q = Q.ravel()
    V = 0.5 * PAPER.k * (q**2).sum() + PAPER.kappa * sum(q[i] * q[j] for i, j in bonds)
    assert abs(forces.elastic_energy(Q, PAPER) - V) < 1e-12


def test_checkerboard_stiffness_is_k_minus_4_kappa():
    """Q_i = (-1)^(x+y): each of the 4 neighbours contributes -κ·(-1), F = -(k - 4κ) Q."""
    s = SquareLattice(6).stagger
    np.testing.assert_allclose(forces.elastic(s, PAPER), -(PAPER.k - 4 * PAPER.kappa) * s, atol=1e-14)


def test_from_density_half_filling_and_the_electronic_part():
    n = np.full((4, 4), 0.5)
    assert np.all(forces.from_density(n, None, PAPER) == 0)  # half filling, uniform: no electronic force
    Q = np.random.default_rng(1).normal(size=(4, 4))
    n = np.random.default_rng(2).uniform(size=(4, 4))
    np.testing.assert_allclose(forces.from_density(n, Q, PAPER),
                               PAPER.g * (n - 0.5) + forces.elastic(Q, PAPER), rtol=0, atol=1e-15)


def test_kinetic_energy():
    V = torch.ones(3, 2, 2)
    torch.testing.assert_close(forces.kinetic_energy(V, PAPER), torch.full((3,), 0.5 * PAPER.mass * 4))
