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
