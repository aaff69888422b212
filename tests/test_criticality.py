"""holstein.criticality: the Binder cumulant's limits and the crossing of two sizes."""
import numpy as np
import pytest

from holstein import criticality as cr


def test_binder_limits_ordered_and_gaussian():
    rng = np.random.default_rng(0)
    ordered = rng.choice([-1.0, 1.0], size=(2000, 4)) * 3.0  # m = ±m0: U = 1 - 1/3 = 2/3
    assert cr.binder(ordered) == pytest.approx(2 / 3, abs=1e-12)
    gauss = rng.normal(size=(200000, 4))  # ⟨m⁴⟩ = 3⟨m²⟩²: U = 0
    assert abs(cr.binder(gauss)) < 0.02


def test_jackknife_error_shrinks_with_replicas_and_needs_two():
    rng = np.random.default_rng(1)
    U4, e4, _ = cr.binder_jackknife(rng.normal(size=(500, 4)))
    U64, e64, _ = cr.binder_jackknife(rng.normal(size=(500, 64)))
    assert e64 < e4 and abs(U64) < 3 * e64 + 0.01
    with pytest.raises(ValueError, match="2 replicas"):
        cr.binder_jackknife(np.ones((10, 1)))


def test_crossing_of_two_scaling_curves():
    """U_L(T) = f((T - Tc) L): all sizes cross at Tc."""
    Tc, T = 7.3, np.linspace(6, 9, 7)
    f = lambda x: 2 / 3 / (1 + np.exp(x))  # noqa: E731
    assert cr.crossing(T, f((T - Tc) * 16 / 8), f((T - Tc) * 32 / 8)) == pytest.approx(Tc, abs=0.05)
    assert np.isnan(cr.crossing(T, f((T - 20) * 2), f((T - 20) * 4)))  # Tc above the scan: no crossing


def test_crossing_jackknife_recovers_a_planted_tc():
    """Replicas of m drawn from an ordered/disordered mixture whose weight depends on (T - Tc) L."""
    rng = np.random.default_rng(2)
    Tc, T = 8.0, np.array([7.0, 7.5, 8.0, 8.5, 9.0])

    def sample(L, kT):
        w = 1 / (1 + np.exp((kT - Tc) * L / 8))  # probability of the ordered state
        ordered = rng.random((4000, 8)) < w
        return np.where(ordered, rng.choice([-1, 1], (4000, 8)) * 2.0, 0.0) + rng.normal(0, 0.3, (4000, 8))

    tc, err = cr.crossing_jackknife(T, [sample(16, t) for t in T], [sample(32, t) for t in T])
    assert abs(tc - Tc) < 0.3 and 0 < err < 0.3
