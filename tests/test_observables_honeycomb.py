"""Honeycomb observables (holstein.observables with lattice="honeycomb"): exact values on perfect and
white-noise fields, and the quench recorder on (T, B, L, L, 2) snapshots."""
import numpy as np
import pytest

from holstein import observables as obs
from holstein import quench
from holstein.lattice import HoneycombLattice

HC = "honeycomb"


def test_a_perfect_sublattice_cdw_has_phi_m_and_S_of_its_amplitude():
    L, Q0 = 6, 0.7
    Q = Q0 * HoneycombLattice(L).stagger + 0.3  # a uniform offset drops out of all of them
    np.testing.assert_allclose(obs.local_cdw(Q, HC), Q0)
    assert obs.cdw_order(Q, HC) == pytest.approx(Q0)
    S = obs.structure_factor(Q, lattice=HC)
    assert S[0, 0] == pytest.approx(2 * L * L * Q0**2) and np.abs(S.ravel()[1:]).max() < 1e-20
    r, C = obs.correlation(Q, lattice=HC)
    np.testing.assert_allclose(C, 1.0)
    assert r[:3] == pytest.approx([0, 1, np.sqrt(3)])


def test_two_domains_have_no_net_order_and_white_noise_has_the_stencils_correlations():
    L = 8
    Q = HoneycombLattice(L).stagger.copy()
    Q[L // 2:] *= -1
    assert obs.cdw_order(Q, HC) == pytest.approx(0, abs=1e-12)
    noise = np.random.default_rng(0).normal(size=(400, 12, 12, 2))
    r, C = obs.correlation(noise, lattice=HC)
    # φ_i = s_i (Q_i - Σ_nn Q_j / 3) / 2: ⟨φ_i φ_j⟩ / ⟨φ²⟩ = (2/3)/(4/3) for bonds, (1/9)/(4/3) for
    # second neighbours (one common neighbour), 0 beyond
    np.testing.assert_allclose(C[1:4], [1 / 2, 1 / 12, 0.0], atol=0.01)
    assert np.abs(C[4:]).max() < 0.01


def test_recorder_keeps_honeycomb_observables_per_replica():
    T, B, L = 3, 2, 6
    rng = np.random.default_rng(1)
    Q = rng.normal(size=(T, B, L, L, 2)) + 2.0 * HoneycombLattice(L).stagger
    c = quench.compact_observables(np.arange(T), Q, dr=1.0, lattice=HC)
    assert c["m"].shape == (T, B) and c["C"].shape[:2] == (T, B) and c["S"].shape[:2] == (T, B)
    np.testing.assert_allclose(c["m"], obs.cdw_order(Q, HC))
    np.testing.assert_allclose(c["S_pipi"], 2 * L * L * c["m"] ** 2)  # S at the ordering vector k = 0
    one = quench.compact_observables(np.arange(T), Q[:, 0], dr=1.0, lattice=HC)  # unbatched: B = 1 kept
    np.testing.assert_allclose(one["C"][:, 0], c["C"][:, 0])
    assert int(c["L_sys"]) == L and np.isnan(c["L"]).all()  # ordered: C(r) never drops to 1/2
    noise = quench.compact_observables(np.arange(T), Q - 2.0 * HoneycombLattice(L).stagger, lattice=HC)
    assert ((noise["L"] > 0.5) & (noise["L"] < 1.5)).all()  # white noise: C(1) ≈ 1/2
