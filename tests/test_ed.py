"""Exact limits, sum rules, finite differences and symmetry of the ED forces."""
import numpy as np
import pytest
import torch

from holstein import PAPER, ed
from holstein.forces import elastic
from holstein.lattice import D4_OPS, SquareLattice, translate


def _random_Q(L, B=None, scale=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (L, L) if B is None else (B, L, L)
    return scale * torch.randn(shape, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("kT", [0.0, 0.1, 1.0])
def test_g_zero_is_uniform_half_filling(kT):
    p = PAPER.replace(g=0.0, kT=kT)
    n = ed.density(_random_Q(8), p)
    assert torch.allclose(n, torch.full_like(n, 0.5), atol=1e-12, rtol=0)


@pytest.mark.parametrize("kT", [0.0, 0.05, 0.1, 2.0])
@pytest.mark.parametrize("L", [4, 6, 10])
def test_filling_sum_rule(kT, L):
    p = PAPER.replace(kT=kT)
    sol = ed.solve(_random_Q(L, B=3, seed=L), p)
    assert torch.allclose(sol.n.sum(dim=(-2, -1)), torch.full((3,), L * L / 2.0), atol=1e-10, rtol=0)
    assert torch.allclose(sol.f.sum(-1), torch.full((3,), L * L / 2.0), atol=1e-10, rtol=0)


@pytest.mark.parametrize("kT", [0.0, 0.1])
def test_degenerate_fermi_level_gives_symmetric_half_filling(kT):
    # Q = 0 on an L = 4k lattice: the Fermi level ε = 0 is highly degenerate
    n = ed.density(torch.zeros(8, 8, dtype=torch.float64), PAPER.replace(kT=kT))
    assert torch.allclose(n, torch.full_like(n, 0.5), atol=1e-12, rtol=0)


@pytest.mark.parametrize("L", [4, 6, 12])
@pytest.mark.parametrize("Q0", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("kT", [0.0, 0.1, 0.5])
def test_checkerboard_matches_k_space(L, Q0, kT):
    p = PAPER.replace(kT=kT)
    s = torch.as_tensor(SquareLattice(L).stagger)
    n = ed.density(Q0 * s, p)
    delta = ed.cdw_delta(L, Q0, p)
    assert torch.allclose(n, 0.5 + delta * s, atol=1e-10, rtol=0)


def test_checkerboard_atomic_limit():
    p = PAPER.replace(t=0.0, kT=0.0)
    assert ed.cdw_delta(4, 1.0, p) == pytest.approx(0.5)
    p = PAPER.replace(t=0.0, kT=0.3)
    assert ed.cdw_delta(4, 0.2, p) == pytest.approx(0.5 * np.tanh(3.5 * 0.2 / 0.6))


@pytest.mark.parametrize("kT", [0.1, 0.5])
def test_forces_are_minus_gradient_of_free_energy(kT):
    p = PAPER.replace(kT=kT)
    L, h = 6, 1e-5
    Q = _random_Q(L, scale=0.5, seed=3)
    F = ed.forces(Q, p)
    Ff = torch.empty_like(Q)
    for x in range(L):
        for y in range(L):
            d = torch.zeros_like(Q)
            d[x, y] = h
            Ff[x, y] = -(ed.free_energy(Q + d, p) - ed.free_energy(Q - d, p)) / (2 * h)
    assert torch.allclose(Ff, F, rtol=1e-6, atol=1e-6 * F.abs().max().item())


def test_free_energy_autograd_matches_forces_at_zero_temperature_in_a_gap():
    # kT = 0 in a gapped CDW: the ground-state energy is differentiable and its gradient is -F
    p = PAPER.replace(kT=0.0)
    Q = torch.as_tensor(SquareLattice(6).stagger) * 0.8 + 0.05 * _random_Q(6, seed=4)
    Qg = Q.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(ed.free_energy(Qg, p), Qg)
    assert torch.allclose(-grad, ed.forces(Q, p), atol=1e-9)


def test_forces_split_into_electronic_and_elastic():
    Q = _random_Q(6, B=2)
    assert torch.allclose(ed.forces(Q, PAPER), ed.electronic_forces(Q, PAPER) + elastic(Q, PAPER), atol=1e-14)


def test_forces_covariant_under_d4_and_translations():
    Q = _random_Q(8, scale=0.7, seed=5)
    F = ed.forces(Q, PAPER)
    for op in D4_OPS:
        assert torch.allclose(ed.forces(op(Q), PAPER), op(F), atol=1e-12, rtol=0)
    for dx, dy in [(1, 0), (0, 3), (2, 5)]:
        assert torch.allclose(ed.forces(translate(Q, dx, dy), PAPER), translate(F, dx, dy), atol=1e-12, rtol=0)


def test_batched_equals_one_by_one_and_numpy_input():
    Q = _random_Q(6, B=3)
    F = ed.forces(Q, PAPER)
    for b in range(3):
        assert torch.allclose(F[b], ed.forces(Q[b], PAPER), atol=1e-13)
    assert torch.allclose(ed.forces(Q[0].numpy(), PAPER), F[0], atol=1e-13)


def test_eigenvalues_for_dos():
    eps, U = ed.spectrum(torch.zeros(4, 4, dtype=torch.float64), PAPER)
    assert eps.shape == (16,) and U.shape == (16, 16)
    assert eps.min().item() == pytest.approx(-4.0) and eps.max().item() == pytest.approx(4.0)


@pytest.mark.parametrize("bad,match", [
    (torch.zeros(4), "shape"), (torch.zeros(4, 6), "square"), (torch.zeros(5, 5), "even"),
    (torch.full((4, 4), float("nan")), "NaN"), (torch.tensor([[0.0, float("inf")], [0.0, 0.0]]), "NaN"),
])
def test_bad_input_is_rejected(bad, match):
    with pytest.raises(ValueError, match=match):
        ed.forces(bad, PAPER)


def test_cdw_critical_temperature_brackets_where_the_mean_field_amplitude_vanishes():
    """Just below the mean-field T_c the checkerboard amplitude is finite, just above it is zero."""
    p = PAPER.replace(kT=0.1)
    T_c = ed.cdw_critical_temperature(p, L=16, iterations=30)
    assert ed.cdw_amplitude(p.replace(kT=0.98 * T_c), 16) > 0 == ed.cdw_amplitude(p.replace(kT=1.02 * T_c), 16)
