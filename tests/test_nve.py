"""Tests of holstein/nve.py: NVE runs conserve H = E + K to O(dt²)."""
import pytest
import torch

from holstein import nve
from holstein.forces import elastic, elastic_energy
from holstein.params import HolsteinParams


def _harmonic():
    p = HolsteinParams(g=0.0, gamma=0.0, kT=0.0, mass=1.0, dt=0.1)
    Q0, V0 = torch.randn(6, 6), 0.5 * torch.randn(6, 6)
    return (lambda Q: elastic(Q, p)), (lambda Q: elastic_energy(Q, p)), Q0, V0, p


def test_run_records_energies_and_conserves_h():
    f, e, Q0, V0, p = _harmonic()
    r = nve.run(f, e, Q0, V0, p, n_steps=200, every=10)
    assert r["time"].shape == r["E"].shape == r["K"].shape == (21,)
    assert r["time"][-1] == pytest.approx(200 * p.dt)
    assert (abs(r["H"] - r["H"][0]).max() / r["K"].mean()) < 1e-2 and nve.energy_error(r) > 0
    assert abs(r["E"] - r["E"][0]).max() > 10 * nve.energy_error(r)  # E and K trade places
    with pytest.raises(ValueError):
        nve.run(f, e, Q0, V0, p.replace(gamma=0.1), 10, 1)


def test_halving_dt_divides_the_energy_error_by_four():
    f, e, Q0, V0, p = _harmonic()
    out = nve.dt_halving(f, e, Q0, V0, p, n_steps=50)
    assert out["dt"]["time"][-1] == pytest.approx(out["half"]["time"][-1])
    assert 3.5 < out["ratio"] < 4.5


def test_loop_work_vanishes_for_a_gradient_and_equals_the_curl_of_a_linear_force():
    """∮ F·dQ = 0 for the elastic force (a gradient), and 2π a² v·(A u) for F = A Q with A the
    antisymmetric coupling F_i = c (Q_{i+x} − Q_{i−x}), exactly on the periodic trapezoid grid."""
    f, _, Q0, _, p = _harmonic()
    Q0 = Q0.double()
    grad = nve.loop_work(f, Q0, a=1.0, n_loops=3)
    assert grad["W"].shape == (3,) and (grad["scale"] > 1).all()
    assert (abs(grad["W"]) < 1e-12 * grad["scale"]).all()

    def A(Q):
        return 0.3 * (torch.roll(Q, -1, -2) - torch.roll(Q, 1, -2))

    a, gen = 0.7, torch.Generator().manual_seed(0)  # the loop's own u, v, drawn the same way
    u, v = (torch.randn(Q0.shape, generator=gen, dtype=torch.float64) for _ in range(2))
    u = u / u.norm()
    v = v - (v * u).sum() * u
    v = v / v.norm()
    curl = nve.loop_work(A, Q0, a=a, n_loops=1)
    assert curl["W"][0] == pytest.approx(2 * torch.pi * a ** 2 * float((v * A(u)).sum()), rel=1e-10)
    assert abs(curl["W"][0]) > 1e-3 and curl["W_coarse"][0] == pytest.approx(curl["W"][0], rel=1e-10)
