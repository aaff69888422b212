"""Physics checks of holstein/observables.py (and smoke tests of holstein/plotting.py)."""
import io

import numpy as np
import pytest
import torch

from holstein import observables as obs
from holstein.lattice import D4_OPS, SquareLattice, translate


def checkerboard(L, Q0=0.7, offset=0.0):
    return Q0 * SquareLattice(L).stagger + offset


def two_stripes(L, Q0=1.0):
    """Two CDW domains of opposite phase, σ(x) = +1 for x < L/2 and -1 otherwise."""
    sigma = np.where(np.arange(L) < L // 2, 1.0, -1.0)[:, None] * np.ones((1, L))
    return Q0 * sigma * SquareLattice(L).stagger


# ------------------------------------------------------------------ perfect checkerboard
@pytest.mark.parametrize("offset", [0.0, 0.3])
def test_perfect_checkerboard(offset):
    L, Q0 = 8, 0.7
    N = L * L
    Q = checkerboard(L, Q0, offset)
    np.testing.assert_allclose(obs.local_cdw(Q), Q0, atol=1e-14)
    assert obs.cdw_order(Q) == pytest.approx(Q0, abs=1e-14)
    # the opposite phase has φ = -Q0 and the same order parameter
    np.testing.assert_allclose(obs.local_cdw(-Q + 2 * offset), -Q0, atol=1e-14)

    S = obs.structure_factor(Q)
    qx, qy = obs.q_grid(L)
    peak = np.isclose(qx, np.pi) & np.isclose(qy, np.pi)
    assert peak.sum() == 1 and peak[L // 2, L // 2]
    assert S[peak][0] == pytest.approx(N * Q0 ** 2, rel=1e-13)
    np.testing.assert_allclose(S[~peak], 0.0, atol=1e-12)
    # without subtracting the mean, only q = 0 changes: S(0) = N c²
    S_raw = obs.structure_factor(Q, subtract_mean=False)
    assert S_raw[0, 0] == pytest.approx(N * offset ** 2, abs=1e-12)
    np.testing.assert_allclose(S_raw[1:], S[1:], atol=1e-12)
    np.testing.assert_allclose(S_raw[0, 1:], S[0, 1:], atol=1e-12)

    for use_phi in (True, False):
        r, C = obs.correlation(Q, use_phi=use_phi)
        assert r[0] == 0 and np.all(np.diff(r) > 0)
        assert r[-1] == pytest.approx(np.sqrt(2) * L / 2)
        np.testing.assert_allclose(C, 1.0, atol=1e-12)
    assert np.isnan(obs.domain_size(r, C))  # never decorrelates


def test_structure_factor_sum_rules():
    rng = np.random.default_rng(0)
    Q = rng.normal(size=(3, 10, 10)) + 0.2
    N = 100
    for sub in (True, False):
        S = obs.structure_factor(Q, subtract_mean=sub)
        ref = Q - Q.mean(axis=(-2, -1), keepdims=True) if sub else Q
        np.testing.assert_allclose(S.sum(axis=(-2, -1)), (ref ** 2).sum(axis=(-2, -1)), rtol=1e-12)
        np.testing.assert_allclose(S[:, 5, 5], N * obs.cdw_order(Q) ** 2, rtol=1e-12)


def test_q_grid_shift():
    qx, qy = obs.q_grid(6, shift=True)
    assert np.all(np.diff(qx[:, 0]) > 0) and qx[0, 0] == pytest.approx(-np.pi) and qx[3, 0] == 0
    np.testing.assert_allclose(qy, qx.T)
    qx0, _ = obs.q_grid(6)
    np.testing.assert_allclose(np.fft.fftshift(qx0, axes=(0, 1)) % (2 * np.pi), qx % (2 * np.pi))


# ------------------------------------------------------------------ two domains (stripes)
def test_two_stripes_exact_correlation():
    L = 16
    Q = two_stripes(L)
    assert obs.cdw_order(Q) == pytest.approx(0.0, abs=1e-14)
    # φ = ±1 in the bulk and ±3/4 on the four wall columns
    phi = obs.local_cdw(Q)[:, 0]
    np.testing.assert_allclose(np.abs(phi), [0.75] + [1] * (L // 2 - 2) + [0.75, 0.75] + [1] * (L // 2 - 2) + [0.75])

    # staggered field ψ = σ(x): C(Δx, 0) = 1 - 4|Δx|/L for |Δx| <= L/2, C(0, Δy) = 1
    Cpsi = obs.correlation_map(Q, use_phi=False)
    d = np.arange(L // 2 + 1)
    np.testing.assert_allclose(Cpsi[d, 0], 1 - 4 * d / L, atol=1e-12)
    np.testing.assert_allclose(Cpsi[0, :], 1.0, atol=1e-12)
    np.testing.assert_allclose(Cpsi[-d, 0], Cpsi[d, 0], atol=1e-12)  # C(-Δ) = C(Δ)

    # φ with the softened walls: Σφ² ∝ L - 7/4, numerator L - 4Δ for 2 <= Δ <= L/2 - 2,
    # (8L - 33)/8 at Δ = 1 and -(L - 7/4) at Δ = L/2
    Cphi = obs.correlation_map(Q)
    d = np.arange(2, L // 2 - 1)
    np.testing.assert_allclose(Cphi[d, 0], (L - 4 * d) / (L - 7 / 4), atol=1e-12)
    assert Cphi[1, 0] == pytest.approx((8 * L - 33) / (8 * L - 14), abs=1e-12)
    assert Cphi[L // 2, 0] == pytest.approx(-1.0, abs=1e-12)
    np.testing.assert_allclose(Cphi[0, :], 1.0, atol=1e-12)

    # radial average: starts at 1, falls, first crossing of 1/2 between L/8 (x only) and L/2
    r, C = obs.correlation(Q)
    assert C[0] == pytest.approx(1.0) and np.all(C[1:] < 1)
    assert C[r <= L / 2][-1] < C[1]
    ell = obs.domain_size(r, C)
    assert L / 8 < ell < L / 2
    # axis bins (Δ,0),(0,Δ) only for r = 1: C(1) = (C_x(1) + 1) / 2
    assert C[1] == pytest.approx(0.5 * (Cphi[1, 0] + 1), abs=1e-12)


def test_stripe_domain_size_matches_continuum():
    """Isotropic average of C(Δ) = 1 - 4|Δx|/L (ψ of two stripes) is 1 - (8/π) r/L for r <= L/2,
    so L_dom = πL/16. Unit-width shells reproduce it; exact distinct-radius bins are jagged
    (lattice anisotropy) but stay within 15 %."""
    for L in (16, 32, 64):
        r, C = obs.correlation(two_stripes(L), use_phi=False, dr=1.0)
        assert obs.domain_size(r, C) == pytest.approx(np.pi * L / 16, rel=0.03)
        r, C = obs.correlation(two_stripes(L), use_phi=False)
        assert obs.domain_size(r, C) == pytest.approx(np.pi * L / 16, rel=0.15)
    with pytest.raises(ValueError):
        obs.correlation(two_stripes(8), dr=0.0)


def test_radial_shells_conserve_weight():
    """Shell averages are count-weighted averages of the distinct-radius bins."""
    rng = np.random.default_rng(5)
    Cmap = rng.normal(size=(10, 10))
    r0, C0 = obs.radial_average(Cmap)
    r1, C1 = obs.radial_average(Cmap, dr=1.0)
    _, _, n0 = obs.radial_bins(10)
    _, _, n1 = obs.radial_bins(10, 1.0)
    assert n0.sum() == n1.sum() == 100 and r1[0] == 0 and np.all(np.diff(r1) > 0)
    assert (C0 * n0).sum() == pytest.approx((C1 * n1).sum()) == pytest.approx(Cmap.sum())
    assert (r0 * n0).sum() == pytest.approx((r1 * n1).sum())


# ------------------------------------------------------------------ symmetry
def test_translation_and_d4_invariance():
    rng = np.random.default_rng(1)
    L = 12
    # a smooth-ish random domain pattern plus noise
    sigma = np.sign(np.cos(2 * np.pi * np.arange(L) / L)[:, None] + 0.7 * np.sin(4 * np.pi * np.arange(L) / L)[None, :])
    Q = 0.8 * sigma * SquareLattice(L).stagger + 0.1 * rng.normal(size=(L, L))
    r0, C0 = obs.correlation(Q)
    _, Cp0 = obs.correlation(Q, use_phi=False)
    m0 = obs.cdw_order(Q)
    S0 = obs.structure_factor(Q)
    variants = [translate(Q, dx, dy) for dx, dy in [(1, 0), (0, 1), (3, 5), (-2, 7)]]
    variants += [op(Q) for op in D4_OPS]
    for g in variants:
        r, C = obs.correlation(g)
        np.testing.assert_array_equal(r, r0)
        np.testing.assert_allclose(C, C0, atol=1e-12)
        np.testing.assert_allclose(obs.correlation(g, use_phi=False)[1], Cp0, atol=1e-12)
        assert obs.cdw_order(g) == pytest.approx(m0, abs=1e-12)
        S = obs.structure_factor(g)
        assert S[L // 2, L // 2] == pytest.approx(S0[L // 2, L // 2], abs=1e-12)
        np.testing.assert_allclose(np.sort(S.ravel()), np.sort(S0.ravel()), atol=1e-12)
    for dx, dy in [(1, 0), (3, 5)]:  # |S(q)| is translation invariant element-wise
        np.testing.assert_allclose(obs.structure_factor(translate(Q, dx, dy)), S0, atol=1e-12)


def test_batched_equals_one_by_one_and_torch():
    rng = np.random.default_rng(2)
    Q = rng.normal(size=(2, 3, 8, 8))
    Cb = obs.correlation_map(Q, average_batch=False)
    assert Cb.shape == (2, 3, 8, 8)
    r, Cr = obs.correlation(Q, average_batch=False)
    assert Cr.shape == (2, 3, r.size)
    for a in range(2):
        for b in range(3):
            np.testing.assert_allclose(Cb[a, b], obs.correlation_map(Q[a, b]), atol=1e-14)
            np.testing.assert_allclose(Cr[a, b], obs.correlation(Q[a, b])[1], atol=1e-14)
            assert obs.cdw_order(Q)[a, b] == pytest.approx(obs.cdw_order(Q[a, b]))
    # batch average is the ensemble ratio <G(Δ)> / <G(0)>
    G = np.stack([obs.correlation_map(q) * (obs.local_cdw(q) ** 2).mean() for q in Q.reshape(6, 8, 8)])
    np.testing.assert_allclose(obs.correlation_map(Q), G.mean(0) / G.mean(0)[0, 0], atol=1e-14)
    # torch input gives the same numpy output
    Qt = torch.tensor(Q, requires_grad=True)
    out = obs.correlation(Qt)[1]
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, obs.correlation(Q)[1], atol=1e-15)
    np.testing.assert_allclose(obs.structure_factor(Qt), obs.structure_factor(Q), atol=1e-15)
    np.testing.assert_allclose(obs.local_cdw(Qt), obs.local_cdw(Q), atol=1e-15)


# ------------------------------------------------------------------ white noise
def test_white_noise_correlations():
    """iid Q: ψ is uncorrelated; φ inherits exactly the overlap of its 5-site stencil."""
    rng = np.random.default_rng(3)
    B, L = 16, 64
    Q = rng.normal(size=(B, L, L))
    tol = 6 / np.sqrt(B * L * L)
    r, C = obs.correlation(Q, use_phi=False)
    assert np.max(np.abs(C[1:])) < tol
    r, C = obs.correlation(Q)
    expected = {1.0: 0.4, np.sqrt(2): 0.1, 2.0: 0.05}
    for rv, cv in expected.items():
        assert C[np.isclose(r, rv)][0] == pytest.approx(cv, abs=tol)
    assert np.max(np.abs(C[r > 2.01])) < tol
    assert obs.cdw_order(Q).max() < 6 / L


# ------------------------------------------------------------------ domain size and fits
def test_domain_size_linear_interpolation_exact():
    r = np.arange(10.0)
    C = 1 - r / 8
    assert obs.domain_size(r, C) == pytest.approx(4.0, abs=1e-14)
    assert obs.domain_size(r, C, level=0.3) == pytest.approx(5.6, abs=1e-14)
    r2 = np.sqrt(np.array([0, 1, 2, 4, 5, 8, 9, 10, 13, 16, 17, 18, 20, 25, 26, 29, 32, 34, 36.0]))
    assert obs.domain_size(r2, 1 - 0.1 * r2) == pytest.approx(5.0, abs=1e-13)
    # first crossing is used even if C comes back up
    assert obs.domain_size([0, 1, 2, 3], [1, 0.6, 0.4, 0.9]) == pytest.approx(1.5)
    assert np.isnan(obs.domain_size(r, np.ones_like(r)))
    assert np.isnan(obs.domain_size([0, 1, 2], [1, np.nan, 0.2]))
    with pytest.raises(ValueError):
        obs.domain_size([0, 2, 1], [1, 0.5, 0])


def test_fit_growth_exponent_recovers_alpha_with_honest_errors():
    rng = np.random.default_rng(4)
    t = np.geomspace(1, 1000, 30)
    noise = 0.02
    x = np.log(t)
    err_theory = noise / np.sqrt(((x - x.mean()) ** 2).sum())
    fits = [obs.fit_growth_exponent(t, 2 * t ** 0.4 * np.exp(noise * rng.normal(size=t.size))) for _ in range(300)]
    alphas = np.array([f.alpha for f in fits])
    errs = np.array([f.alpha_err for f in fits])
    assert abs(alphas.mean() - 0.4) < 4 * alphas.std() / np.sqrt(len(fits))
    assert errs.mean() == pytest.approx(err_theory, rel=0.1)
    assert alphas.std() == pytest.approx(errs.mean(), rel=0.2)  # error bar is calibrated
    assert np.mean(np.abs(alphas - 0.4) < 2 * errs) > 0.9
    assert np.mean([f.prefactor for f in fits]) == pytest.approx(2.0, rel=0.02)
    # few points: s² = RSS/(n - 2) makes σ_α² unbiased (RSS/n would be 40 % low at n = 5)
    t5 = np.geomspace(1, 100, 5)
    x5 = np.log(t5)
    err5 = noise / np.sqrt(((x5 - x5.mean()) ** 2).sum())
    e2 = [obs.fit_growth_exponent(t5, t5 ** 0.4 * np.exp(noise * rng.normal(size=5))).alpha_err ** 2
          for _ in range(2000)]
    assert np.mean(e2) == pytest.approx(err5 ** 2, rel=0.08)
    # exact power law: exact α, zero error; the fit object evaluates the law
    f = obs.fit_growth_exponent(t, 2 * t ** 0.4)
    assert f.alpha == pytest.approx(0.4, abs=1e-12) and f.alpha_err < 1e-10
    np.testing.assert_allclose(f(t), 2 * t ** 0.4, rtol=1e-10)


def test_fit_growth_exponent_masks_and_errors():
    t = np.array([0.0, 1, 2, 4, 8, 16, 32, 64.0])
    Lt = 3 * t ** 0.5
    Lt[3] = np.nan
    Lt[-1] = 1000.0  # outlier excluded by t_max
    f = obs.fit_growth_exponent(t, Lt, t_max=32)
    assert f.alpha == pytest.approx(0.5, abs=1e-12) and f.n_points == 5 and f.t_max == 32 and f.t_min == 1
    assert obs.fit_growth_exponent(t, Lt, t_min=2, t_max=32).n_points == 4  # t = 2, 8, 16, 32
    with pytest.raises(ValueError, match="3"):
        obs.fit_growth_exponent([1, 2], [1, 2])
    with pytest.raises(ValueError, match="3"):
        obs.fit_growth_exponent(t, Lt, t_min=10, t_max=40)
    with pytest.raises(ValueError):
        obs.fit_growth_exponent([1, 2, 3], [1, 2])


def test_fit_power_law_recovers_exponent_and_error_covers_truth():
    rng = np.random.default_rng(7)
    x = np.geomspace(10, 1e4, 12)
    hits = []
    for _ in range(200):
        f = obs.fit_power_law(x, 3e-9 * x ** 2.7 * np.exp(0.05 * rng.normal(size=x.size)))
        assert f.slope == pytest.approx(2.7, abs=0.1) and f.slope_err > 0
        hits.append(abs(f.slope - 2.7) < 2 * f.slope_err)
    assert 0.9 < np.mean(hits) < 0.99  # a calibrated 2σ bar covers the truth about 95 % of the time
    np.testing.assert_allclose(f(x), f.prefactor * x ** f.slope)


def test_fit_power_law_exact_few_points_and_range():
    N = np.array([64, 256, 1024])
    f = obs.fit_power_law(N, 1e-9 * N ** 3.0)  # exact cubic: exact slope, zero error
    assert f.slope == pytest.approx(3.0) and f.slope_err == pytest.approx(0.0, abs=1e-9)
    assert f.prefactor == pytest.approx(1e-9) and f.n_points == 3
    f = obs.fit_power_law(N[:2], N[:2] * 2.0)  # two points: a slope, no error bar
    assert f.slope == pytest.approx(1.0) and np.isnan(f.slope_err)
    f = obs.fit_power_law([0, 1, 2, 4, 8, 16.0], [5, 1, 2, 4, 8, 1e3], x_min=1, x_max=8)
    assert f.slope == pytest.approx(1.0) and list(f.x) == [1, 2, 4, 8] and list(f.y) == [1, 2, 4, 8]
    with pytest.raises(ValueError):
        obs.fit_power_law([4], [1.0])
    with pytest.raises(ValueError):
        obs.fit_power_law([4, 4, 4], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="3"):
        obs.fit_power_law([1, 2], [1, 2], min_points=3)


def test_scaling_collapse():
    r = np.arange(5.0)
    out = obs.scaling_collapse(r, [np.ones(5), 0.5 * np.ones(5)], [2.0, 4.0])
    np.testing.assert_allclose(out[0][0], r / 2)
    np.testing.assert_allclose(out[1][0], r / 4)
    np.testing.assert_allclose(out[1][1], 0.5)
    # self-similar curves C = exp(-r/L) collapse exactly
    Ls = [2.0, 3.5, 7.0]
    rs = [np.linspace(0, 20, 11 + k) for k in range(3)]
    out = obs.scaling_collapse(rs, [np.exp(-rk / Lk) for rk, Lk in zip(rs, Ls)], Ls)
    for x, C in out:
        np.testing.assert_allclose(C, np.exp(-x), rtol=1e-14)
    with pytest.raises(ValueError):
        obs.scaling_collapse(r, [np.ones(5)], [1.0, 2.0])
    with pytest.raises(ValueError):
        obs.scaling_collapse(r, [np.ones(5)], [np.nan])


@pytest.mark.parametrize("bad", [np.zeros(8), np.zeros((6, 8)), np.zeros((7, 7)), np.full((4, 4), np.nan)])
def test_bad_input_raises(bad):
    for f in (obs.local_cdw, obs.cdw_order, obs.structure_factor, obs.correlation):
        with pytest.raises(ValueError):
            f(bad)


def test_zero_field_gives_nan_correlation():
    r, C = obs.correlation(np.zeros((4, 4)))
    assert np.all(np.isnan(C))
    assert np.isnan(obs.domain_size(r, C))


# ------------------------------------------------------------------ plotting
def test_plotting_helpers_label_axes():
    from matplotlib.figure import Figure

    from holstein import plotting

    L = 8
    Q = two_stripes(L)
    fig = Figure(figsize=(10, 8))
    axs = fig.subplots(2, 3).ravel()
    plotting.plot_field(axs[0], obs.local_cdw(Q), title=r"$\phi_i$", label=r"$\phi$")
    plotting.plot_structure_factor(axs[1], obs.structure_factor(Q[None].repeat(2, 0)), log=True)
    r, C = obs.correlation(Q)
    r2, C2 = obs.correlation(checkerboard(L))
    plotting.plot_correlations(axs[2], [r, r2], [C, C2], labels=["stripes", "checkerboard"])
    plotting.plot_collapse(axs[3], r, [C, C], [2.0, 3.0], labels=["a", "b"])
    t = np.geomspace(1, 100, 10)
    fit = plotting.plot_domain_growth(axs[4], t, 2 * t ** 0.45, fit=True)
    assert fit.alpha == pytest.approx(0.45)
    for ax in axs[:5]:
        assert ax.get_xlabel() and ax.get_ylabel()
    assert axs[4].get_xscale() == "log" and axs[4].get_yscale() == "log"
    legend = [tx.get_text() for tx in axs[4].get_legend().get_texts()]
    assert any(r"\pm" in s and "0.450" in s for s in legend)
    fig.savefig(io.BytesIO(), format="png")  # renders (mathtext in labels parses)
    with pytest.raises(ValueError):
        plotting.plot_field(axs[5], np.zeros((2, 4, 4)))
