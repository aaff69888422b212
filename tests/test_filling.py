"""holstein.filling: μ at fixed filling by bisection and safeguarded Newton."""
import torch

from holstein.filling import bisect_mu, newton_mu


def _fermi_count(eps, kT):
    return lambda mu: torch.special.expit((mu[:, None] - eps) / kT).sum(-1)


def test_bisection_finds_half_filling_of_random_levels():
    eps = torch.sort(torch.randn(3, 50), dim=-1).values
    kT = 0.1
    mu = bisect_mu(_fermi_count(eps, kT), eps[:, 0] - 5, eps[:, -1] + 5, 25.0)
    torch.testing.assert_close(_fermi_count(eps, kT)(mu), torch.full((3,), 25.0), rtol=0, atol=1e-10)


def test_particle_hole_symmetric_levels_put_mu_at_zero():
    e = torch.linspace(-2, 2, 40)[None]  # symmetric about 0
    mu = bisect_mu(_fermi_count(e, 0.3), torch.tensor([-10.0]), torch.tensor([10.0]), 20.0)
    assert abs(float(mu)) < 1e-12


def test_newton_agrees_with_bisection_and_stays_in_the_bracket():
    eps = 3 * torch.randn(4, 64)
    kT = 0.05

    def count_and_slope(mu):
        n = torch.special.expit((mu[:, None] - eps) / kT)
        return n.sum(-1), (n * (1 - n) / kT).sum(-1)

    lo, hi = eps.amin(-1) - 1, eps.amax(-1) + 1
    mu_b = bisect_mu(_fermi_count(eps, kT), lo, hi, 32.0)
    mu_n = newton_mu(count_and_slope, lo, hi, 32.0, mu0=hi - 1e-3)  # a poor start, far from the root
    assert bool(((mu_n >= lo) & (mu_n <= hi)).all())
    torch.testing.assert_close(_fermi_count(eps, kT)(mu_n), torch.full((4,), 32.0), rtol=0, atol=1e-8)
    torch.testing.assert_close(mu_n, mu_b, rtol=0, atol=1e-8)


def test_no_gradient_flows_through_the_root():
    eps = torch.randn(1, 10, requires_grad=True)
    mu = bisect_mu(_fermi_count(eps, 0.2), torch.tensor([-10.0]), torch.tensor([10.0]), 5.0)
    assert not mu.requires_grad
