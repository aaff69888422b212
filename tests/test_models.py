"""Tests for holstein/models: a conformance suite over every registered model, plus the GNN
specifics (PyG vs stencil backends, exact parameter counts, receptive fields, energy-model
forces against finite differences, NVE energy conservation with velocity Verlet).

Huge reference models are tested with small widths (``SMALL``); their true defaults are built
once, on L = 4, for shape, parameter count and FLOPs only.
"""
from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
import torch

from holstein import models
from holstein.forces import elastic, elastic_energy, kinetic_energy
from holstein.lattice import D4_OPS, SquareLattice, translate
from holstein.models.message_passing import batched_graph, lattice_graph, nn_mean
from holstein.models.cost import macs_per_site
from holstein.params import PAPER

#: Small constructor overrides for the conformance suite, per registered name (default: none).
SMALL = {
    "gcn": {"channels": (1, 8, 16, 8, 1)},
    "energy_gnn": {"channels": (1, 8, 16, 8, 1)},
    "gcn_lean": {},
    "energy_gnn_lean": {},
    "gcn_lean_mu": {"physics": PAPER},
}
GNNS = ("gcn", "gcn_lean", "energy_gnn", "energy_gnn_lean")
ALL = models.available()
ENERGY = [n for n in ALL if models.REGISTRY[n].energy_based]
L_CONF = 6  # conformance lattice; big enough for the 45-site (r <= √13) descriptors


@pytest.fixture(autouse=True)
def _one_thread():
    """Lattices here are tiny: intra-op threads only add contention on a shared CPU (10× slower)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def small(name: str, **kw):
    """A small model with all parameters (biases and LayerNorm included) randomised, in eval mode."""
    m = models.build(name, **{**SMALL.get(name, {}), **kw})
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return m.eval()


def rand_field(*shape):
    return 0.7 * torch.randn(*shape)


# -- conformance: every registered model ----------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_shapes_and_dtypes(name):
    m = small(name)
    Q = rand_field(2, L_CONF, L_CONF)
    F = m(Q)
    assert F.shape == Q.shape and F.dtype == torch.float64 and F.isfinite().all()
    F1 = m(Q[1])
    assert F1.shape == (L_CONF, L_CONF) and F1.dtype == torch.float64
    # float32 model, float32 in -> float32 out, close to the float64 result
    F32 = m.float()(Q.float())
    assert F32.dtype == torch.float32
    torch.testing.assert_close(F32.double(), F, rtol=1e-3, atol=1e-3 * F.abs().max().item())


@pytest.mark.parametrize("name", ALL)
def test_translation_and_d4_equivariance(name):
    """F(gQ) = g F(Q) for translations and the 8 elements of D4, in one batched call."""
    m = small(name)
    Q = rand_field(L_CONF, L_CONF)
    ops = list(D4_OPS) + [lambda a: translate(a, 1, 0), lambda a: translate(a, 2, -3)]
    F_all = m(torch.stack([Q] + [g(Q) for g in ops]))
    for k, g in enumerate(ops):
        torch.testing.assert_close(F_all[k + 1], g(F_all[0]), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ALL)
def test_save_load_roundtrip(name):
    """state_dict + build(name, **config) (through JSON) reproduces the outputs exactly."""
    m = small(name)
    m.q_scale.fill_(0.7)
    m.f_scale.fill_(1.3)
    cfg = json.loads(json.dumps(m.config()))
    m2 = models.build(name, **cfg).eval()
    m2.load_state_dict(m.state_dict())
    Q = rand_field(2, L_CONF, L_CONF)
    assert torch.equal(m(Q), m2(Q))


@pytest.mark.parametrize("name", ALL)
def test_config_is_the_constructor_arguments(name):
    """config() holds every constructor argument (defaults included) as JSON, and rebuilds the model."""
    params = inspect.signature(models.REGISTRY[name]).parameters
    given = {**SMALL.get(name, {}), "target": "electronic", "physics": PAPER, "center": "median"}
    m = models.build(name, **given)
    cfg = m.config()
    assert list(cfg) == list(params)
    as_json = lambda v: json.loads(json.dumps(v.to_dict() if v is PAPER else v))  # noqa: E731
    for k, p in params.items():
        assert cfg[k] == as_json(given[k] if k in given else p.default), k
    again = models.build(name, **json.loads(json.dumps(cfg)))
    assert again.config() == cfg and again.center == "median" and again.physics == PAPER
    cfg["center"] = "mean"
    assert m.config()["center"] == "median"  # config() is a copy


def test_config_of_a_new_model_needs_no_bookkeeping():
    """A subclass records its own constructor's arguments, not those it passes to super()."""

    class Narrow(models.REGISTRY["gcn_lean"]):
        def __init__(self, width=8, target="total", physics=None, center=False):
            super().__init__(channels=(1, width, 1), target=target, physics=physics, center=center)

    m = Narrow(np.int64(4), center=True)
    assert m.channels == (1, 4, 1) and m.center == "mean"
    assert m.config() == {"width": 4, "target": "total", "physics": None, "center": True}
    assert type(m.config()["width"]) is int
    assert models.build("gcn_lean", channels=(1, np.int64(4), 1)).config()["channels"] == [1, 4, 1]
    with pytest.raises(ValueError, match="center"):
        models.build("gcn_lean", center="mode")


@pytest.mark.parametrize("name", ALL)
def test_batched_equals_one_by_one(name):
    m = small(name)
    Q = rand_field(3, L_CONF, L_CONF)
    F = m(Q)
    for b in range(3):
        torch.testing.assert_close(F[b], m(Q[b]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["gcn_lean", "gcn_lean_mu", "energy_gnn_lean"])
def test_force_fn_of_large_batches_is_replica_by_replica(name, monkeypatch):
    # as_force_fn evaluates a batch of large lattices one replica at a time: same numbers, B calls
    m = small(name)
    L = int(np.sqrt(models.base.CHUNK_SITES))
    Q = rand_field(2, L, L)
    calls = []
    fwd = type(m).forward
    monkeypatch.setattr(type(m), "forward", lambda self, q: calls.append(q.shape) or fwd(self, q))
    F = m.as_force_fn()(Q)
    assert [tuple(c) for c in calls] == [(1, L, L), (1, L, L)]
    for b in range(2):
        torch.testing.assert_close(F[b], m.as_force_fn()(Q[b]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in ALL if models.REGISTRY[n].default_target == "total"])
def test_electronic_target_adds_elastic(name):
    m = small(name)
    m_el = models.build(name, **SMALL.get(name, {}), target="electronic", physics=PAPER).eval()
    m_el.load_state_dict(m.state_dict())
    Q = rand_field(2, L_CONF, L_CONF)
    torch.testing.assert_close(m_el(Q) - m(Q), elastic(Q, PAPER), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in ALL if n not in ENERGY])
def test_predict_has_one_shape(name):
    """Every direct model, whatever its head, predicts normalised forces (B, L, L) -> (B, L, L),
    and model(Q) = f_scale · predict(Q / q_scale) (+ the elastic force for target "electronic")."""
    m = small(name)
    m.q_scale.fill_(0.7)
    m.f_scale.fill_(1.3)
    Q = rand_field(2, L_CONF, L_CONF)
    f = m.predict(Q / 0.7)
    assert f.shape == Q.shape and f.dtype == torch.float64
    F = 1.3 * f + (elastic(Q, m.physics) if m.target == "electronic" else 0)
    torch.testing.assert_close(m(Q), F, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("name", ENERGY)
def test_energy_forces_are_finite_differences(name):
    """F_i = -∂E/∂Q_i against central differences at every site of L = 4 (one batched call)."""
    m = small(name)
    L, eps = 4, 1e-5
    Q = rand_field(L, L)
    F = m(Q)
    shifts = eps * torch.eye(L * L).reshape(L * L, L, L)
    E = m.energy(torch.cat([Q + shifts, Q - shifts]))  # (2N,)
    F_fd = -(E[: L * L] - E[L * L:]).reshape(L, L) / (2 * eps)
    torch.testing.assert_close(F_fd, F, rtol=1e-6, atol=1e-6 * F.abs().max().item())


@pytest.mark.parametrize("name", ENERGY)
def test_energy_is_computed_once_for_forces_and_energy(name, monkeypatch):
    """forward and energy share one computation of E = q_scale f_scale Σ e_i + V(Q): one
    site_energy call each, and the forces are exactly -∂E/∂Q of what energy() returns."""
    m = small(name, target="electronic", physics=PAPER)
    m.q_scale.fill_(0.7)
    m.f_scale.fill_(1.3)
    calls = []
    site_energy = m.site_energy
    monkeypatch.setattr(m, "site_energy", lambda x: calls.append(x.shape) or site_energy(x))
    Q = rand_field(2, L_CONF, L_CONF).requires_grad_(True)
    E = m.energy(Q)
    assert len(calls) == 1
    (grad,) = torch.autograd.grad(E.sum(), Q)
    F = m(Q.detach())
    assert len(calls) == 2
    assert torch.equal(F, -grad)
    torch.testing.assert_close(E, 0.91 * site_energy(Q.detach() / 0.7).sum(dim=(-2, -1)) + elastic_energy(Q, PAPER),
                               rtol=1e-14, atol=0)


# -- GNN specifics ----------------------------------------------------------------------------
@pytest.mark.parametrize("name, n_params, flops", [
    ("gcn", 10_753_793, 10_769_924),
    ("energy_gnn", 7_357_697, 3 * 7_347_968),
    ("gcn_lean", 16_705, 17_284),
    ("energy_gnn_lean", 29_777, 3 * 29_168),
])
def test_default_sizes(name, n_params, flops):
    """True default configurations: exact parameter count, FLOPs, one forward on L = 4."""
    m = models.build(name).eval()
    assert m.n_parameters() == n_params
    assert macs_per_site(m) == flops
    if m.energy_based:
        assert macs_per_site(m, forces=False) * 3 == flops
    F = m(rand_field(1, 4, 4))
    assert F.shape == (1, 4, 4) and F.isfinite().all()


@pytest.mark.parametrize("L", [2, 4])
def test_gcnconv_neighbour_normalisation_is_the_mean(L):
    """GCNConv(normalize=True, add_self_loops=False) on the 4-regular lattice graph weighs each
    edge 1/sqrt(4·4) = 1/4: the nn mean. PyG's default (self loops added) would not."""
    from torch_geometric.nn import GCNConv

    B, C = 2, 3
    h = torch.randn(B, L, L, C)
    _, nn_e = batched_graph(L, B, "cpu")
    assert nn_e.shape == (2, 4 * B * L * L)
    for add_loops, expect_mean in ((False, True), (None, False)):
        conv = GCNConv(C, C, normalize=True, add_self_loops=add_loops, bias=False)
        with torch.no_grad():
            conv.lin.weight.copy_(torch.eye(C))
        out = conv(h.reshape(-1, C), nn_e).reshape(B, L, L, C)
        assert torch.allclose(out, nn_mean(h), rtol=0, atol=1e-14) == expect_mean
    # the stencil is the lattice's neighbour table: (1/4) Σ_j h[neighbours[i, j]]
    nbr = torch.as_tensor(SquareLattice(L).neighbours)
    flat = h.reshape(B, L * L, C)
    torch.testing.assert_close(nn_mean(h).reshape(B, L * L, C), flat[:, nbr].mean(dim=2), rtol=0, atol=1e-14)
    assert lattice_graph(L, torch.device("cpu")) is lattice_graph(L, torch.device("cpu"))  # cached


@pytest.mark.parametrize("name", GNNS)
@pytest.mark.parametrize("L", [2, 6])
def test_pyg_and_stencil_backends_agree(name, L):
    """Same weights, backend="pyg" vs backend="stencil": forces (and energies) to 1e-12."""
    m = small(name)
    cfg = m.config()
    pyg = models.build(name, **{**cfg, "backend": "pyg"}).eval()
    sten = models.build(name, **{**cfg, "backend": "stencil"}).eval()
    pyg.load_state_dict(m.state_dict())
    sten.load_state_dict(m.state_dict())
    Q = rand_field(2, L, L)
    torch.testing.assert_close(pyg(Q), sten(Q), rtol=0, atol=1e-12)
    if m.energy_based:
        torch.testing.assert_close(pyg.energy(Q), sten.energy(Q), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", GNNS)
def test_backends_draw_the_same_initial_weights(name):
    """The stencil backend holds PyG's parameters without torch_geometric: same names, shapes,
    initialisation and random draws, so one seed gives one model on either backend."""
    weights = {}
    for backend in ("pyg", "stencil"):
        torch.manual_seed(7)
        weights[backend] = models.build(name, **{**SMALL.get(name, {}), "backend": backend}).state_dict()
    assert weights["pyg"].keys() == weights["stencil"].keys()
    for k, w in weights["pyg"].items():
        assert torch.equal(w, weights["stencil"][k]), k


_WITHOUT_PYG = """
import inspect
import sys
sys.modules["torch_geometric"] = None  # any import of torch_geometric now raises ImportError
import torch
import holstein.models as models
from holstein.models import message_passing
torch.set_default_dtype(torch.float64)
small = {"gcn": {"channels": (1, 4, 1)}, "energy_gnn": {"channels": (1, 4, 1)}, "bp_mlp": {"hidden": (4,)}}
built = []
for name in models.available():
    cls, kw = models.REGISTRY[name], dict(small.get(name, {}))
    if "backend" in inspect.signature(cls).parameters:
        kw["backend"] = "stencil"
    m = models.build(name, **kw)
    F = m.as_force_fn()(torch.randn(6, 6))
    assert F.shape == (6, 6) and bool(F.isfinite().all()), name
    built.append(name)
for make in (lambda: models.build("gcn_lean", backend="pyg"), lambda: message_passing.NeighbourMean):
    try:
        make()
    except ImportError:
        pass
    else:
        raise AssertionError("torch_geometric was importable: the test would prove nothing")
print(" ".join(built))
"""


def test_stencil_models_need_no_torch_geometric():
    """``import holstein.models``, building every model on the stencil backend (BP-MLPs have no
    backend) and a force evaluation work with torch_geometric absent; only ``pyg`` needs it."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _WITHOUT_PYG], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ALL


def test_lean_models_are_the_reference_classes():
    assert isinstance(models.build("gcn_lean"), models.REGISTRY["gcn"])
    assert isinstance(models.build("energy_gnn_lean"), models.REGISTRY["energy_gnn"])
    with pytest.raises(ValueError, match="backend"):
        models.build("gcn", backend="dense")


@pytest.mark.parametrize("name", GNNS)
def test_receptive_field(name):
    """Moving Q_0 changes F_i exactly where the nn-hop distance d(0, i) <= receptive_field."""
    m = small(name)
    R, L = m.receptive_field, 14
    Q = rand_field(L, L)
    Q2 = Q.clone()
    Q2[0, 0] += 0.3
    dF = (m(torch.stack([Q, Q2])).diff(dim=0)[0]).abs()
    x = torch.arange(L)
    dx = torch.minimum(x, L - x)
    d = dx[:, None] + dx[None, :]
    assert dF[d > R].max() == 0
    assert dF[d == R].max() > 1e-12


@pytest.mark.parametrize("name", ENERGY)
def test_nve_energy_conservation(name):
    """Newtonian dynamics (γ = 0) with velocity Verlet conserves H = E_model + K (E_model includes V_el).

    Verlet is symplectic: for smooth forces H fluctuates by O(dt²) without secular drift. With
    the same initial state and total time T = 5 (about 1/3 of the 2π·sqrt(m/k) ≈ 14 phonon
    period), halving dt must reduce max_t |H(t) - H(0)| by 4 (asserted within 3.5..4.5; we see
    4.00). The absolute level is bounded by the harmonic estimate |ΔH|/H ~ (ω dt)² with
    ω ≲ sqrt((k + 4|κ|)/m) + model curvature ≈ 0.6: below 1e-3 at dt = 0.05 (we see ~1e-5).
    """
    if name not in SMALL:
        pytest.skip("NVE run only for the GNN energy models of known size")
    torch.manual_seed(0)
    m = small(name, target="electronic", physics=PAPER)
    for p in m.parameters():
        p.requires_grad_(False)
    Q0, V0 = 0.5 * torch.randn(6, 6), 0.3 * torch.randn(6, 6)

    def H(Q, V):
        return (m.energy(Q) + kinetic_energy(V, PAPER)).item()  # energy() includes V_el (target electronic)

    def fluctuation(dt, T=5.0):
        Q, V = Q0.clone(), V0.clone()
        F, H0, dev = m(Q), H(Q0, V0), 0.0
        for _ in range(round(T / dt)):
            V = V + 0.5 * dt * F / PAPER.mass
            Q = Q + dt * V
            F = m(Q)
            V = V + 0.5 * dt * F / PAPER.mass
            dev = max(dev, abs(H(Q, V) - H0))
        return dev / abs(H0)

    e1, e2 = fluctuation(0.05), fluctuation(0.025)
    assert e1 < 1e-3
    assert 3.5 < e1 / e2 < 4.5


@pytest.mark.parametrize("name", ["gcn", "energy_gnn"])
def test_training_gradients_agree_between_backends(name):
    """In train mode (energy models: create_graph=True, a double backward through the
    aggregation) the weight gradients of a force loss agree between PyG and the stencil."""
    m = small(name)
    grads = {}
    Q = rand_field(2, 4, 4)
    for backend in ("pyg", "stencil"):
        mb = models.build(name, **{**m.config(), "backend": backend}).train()
        mb.load_state_dict(m.state_dict())
        (mb(Q) ** 2).sum().backward()
        # parameters that only shift E by a constant (read-out bias...) get no force gradient
        grads[backend] = torch.cat([(torch.zeros_like(p) if p.grad is None else p.grad).reshape(-1)
                                    for p in mb.parameters()])
    assert grads["pyg"].isfinite().all() and grads["pyg"].abs().max() > 0
    torch.testing.assert_close(grads["pyg"], grads["stencil"], rtol=0, atol=1e-11)


@pytest.mark.parametrize("center", ["mean", "median"])
@pytest.mark.parametrize("name", ["gcn_lean", "energy_gnn_lean"])
def test_centered_electronic_model_is_invariant_under_uniform_shift(name, center):
    """n_i is unchanged by Q -> Q + c (all levels and μ move by -g c); a centred model knows it."""
    from holstein import PAPER, ed
    from holstein.forces import elastic

    Q = torch.randn(6, 6, dtype=torch.float64)
    assert torch.allclose(ed.electronic_forces(Q + 0.7, PAPER), ed.electronic_forces(Q, PAPER), atol=1e-10)
    model = models.build(name, target="electronic", physics=PAPER.to_dict(), center=center).double()
    assert model.config()["center"] == center
    el = lambda q: model(q) - elastic(q, PAPER)  # noqa: E731
    assert torch.allclose(el(Q + 0.7), el(Q), atol=1e-10)
    plain = models.build(name, target="electronic", physics=PAPER.to_dict()).double()
    plain.load_state_dict(model.state_dict())
    assert not torch.allclose(plain(Q + 0.7) - elastic(Q + 0.7, PAPER), plain(Q) - elastic(Q, PAPER), atol=1e-6)
    again = models.build(name, **model.config()).double()
    again.load_state_dict(model.state_dict())
    assert torch.equal(again(Q), model(Q))


def test_electronic_energy_model_energy_is_consistent_with_its_forces():
    """E includes the exact lattice energy when only the electronic part is learned: F = -dE/dQ."""
    model = models.build("energy_gnn_lean", target="electronic", physics=PAPER.to_dict(), center="mean").double()
    Q = torch.randn(6, 6, dtype=torch.float64)
    v = torch.randn(6, 6, dtype=torch.float64)
    h = 1e-5
    fd = -(model.energy(Q + h * v) - model.energy(Q - h * v)) / (2 * h)
    assert torch.allclose(fd, (model(Q) * v).sum(), rtol=1e-6)


# -- occupation head with a global chemical potential ------------------------------------------
def test_half_filling_mu_is_exact_in_the_atomic_limit():
    """Levels ε_i = -g Q_i with widths kT are the t = 0 Hamiltonian: n_i must equal ED's densities."""
    from holstein import ed
    from holstein.models.occupation import half_filling_mu

    p0 = PAPER.replace(t=0.0)
    Q = 2.0 * torch.randn(3, 6, 6, dtype=torch.float64)
    eps, w = -p0.g * Q, torch.full_like(Q, p0.kT)
    mu = half_filling_mu(eps, w)
    n = torch.sigmoid((mu[:, None, None] - eps) / w)
    torch.testing.assert_close(n, ed.density(Q, p0), rtol=0, atol=1e-10)
    torch.testing.assert_close(mu, ed.solve(Q, p0).mu, rtol=0, atol=1e-8)


def test_half_filling_mu_gradient_is_the_implicit_one():
    """∂μ/∂ε_j from the Newton step equals central differences of the (bisected) μ."""
    from holstein.models.occupation import half_filling_mu

    eps = torch.randn(1, 4, 4, dtype=torch.float64, requires_grad=True)
    w = 0.3 + torch.rand(1, 4, 4, dtype=torch.float64)
    (grad,) = torch.autograd.grad(half_filling_mu(eps, w).sum(), eps)
    h, fd = 1e-6, torch.zeros(16, dtype=torch.float64)
    for j in range(16):
        d = torch.zeros(16, dtype=torch.float64)
        d[j] = h
        d = d.reshape(1, 4, 4)
        fd[j] = (half_filling_mu(eps.detach() + d, w) - half_filling_mu(eps.detach() - d, w)).item() / (2 * h)
    torch.testing.assert_close(grad.reshape(16), fd, rtol=1e-6, atol=1e-8)
    assert abs(grad.sum().item() - 1.0) < 1e-12  # shifting every level shifts μ by the same amount


def test_occupation_head_keeps_half_filling():
    """Σ_i F^e_i = g (Σ_i n_i - N/2) = 0 for any weights and any configuration."""
    m = small("gcn_lean_mu").double()
    Q = 3.0 * torch.randn(4, 8, 8, dtype=torch.float64)
    Fe = m(Q) - elastic(Q, PAPER)
    assert Fe.abs().max() > 0.1
    torch.testing.assert_close(Fe.sum(dim=(-2, -1)), torch.zeros(4, dtype=torch.float64), rtol=0, atol=1e-9)
    assert (Fe.abs() <= PAPER.g / 2 + 1e-12).all()  # 0 <= n_i <= 1


def test_occupation_head_needs_a_direct_electronic_model():
    with pytest.raises(ValueError, match="occupation"):
        models.build("gcn_lean", head="occupation")  # total target
    with pytest.raises(TypeError):  # only the direct-force GCNs have the head
        models.build("energy_gnn_lean", target="electronic", physics=PAPER, head="occupation")


@pytest.mark.parametrize("name", ["gcn_lean", "gcn_lean_mu", "energy_gnn_lean", "bp_mlp_lean"])
def test_batched_ml_langevin_ensemble_equals_one_by_one(name):
    """B replicas advanced as one (B, L, L) tensor by an ML force field follow the B single runs
    (same per-replica seeds) to rounding: the batch is only a layout."""
    from holstein import dynamics as dyn

    m = small(name).double()
    f = lambda Q: m(Q).detach()  # noqa: E731
    p = PAPER
    B, L = 3, 6
    Q0, V0 = dyn.hot_start(L, p, seed=2, batch=B, q_std=1.0)
    seeds = dyn.replica_seeds(9, B)
    batched, _ = dyn.run(dyn.init(Q0, f, p, V0=V0, seed=9), f, p, 20, progress=False)
    for r in range(B):
        single, _ = dyn.run(dyn.init(Q0[r], f, p, V0=V0[r], seed=[seeds[r]]), f, p, 20, progress=False)
        torch.testing.assert_close(batched.Q[r], single.Q, rtol=0, atol=1e-10)
        torch.testing.assert_close(batched.V[r], single.V, rtol=0, atol=1e-10)
    assert not torch.allclose(batched.Q[0], batched.Q[1])


@pytest.mark.parametrize("name", ["gcn_lean", "gcn_lean_mu", "energy_gnn_lean"])
def test_tiled_stencil_evaluation_is_exact(name, monkeypatch):
    """The CPU tiling of the stencil backend (tiles of 8 on L = 40, and of 9: 9 + 9 + 9 + 9 + 4; halo = the receptive field) gives the untiled forces, energies included."""
    from holstein.models import message_passing as mp

    m = small(name).double()
    Q = rand_field(2, 40, 40).double()
    monkeypatch.setattr(mp, "STENCIL_TILE", None)
    F_ref = m(Q)
    E_ref = m.energy(Q) if m.energy_based else None
    for tile in (8, 9):
        monkeypatch.setattr(mp, "STENCIL_TILE", tile)
        torch.testing.assert_close(m(Q), F_ref, rtol=0, atol=1e-12)
        if m.energy_based:
            torch.testing.assert_close(m.energy(Q), E_ref, rtol=0, atol=1e-10)
    # a wrong halo would not be exact: the test can fail
    bad = mp.tiled(m.stencil_forward, Q, 1, 8)
    good = mp.tiled(m.stencil_forward, Q, len(getattr(m, "blocks", getattr(m, "self_convs", []))), 8)
    assert (bad - good).abs().max() > 1e-6


@pytest.mark.parametrize("name", ALL)
def test_training_works_after_an_inference_call(name):
    """Cached lattice tensors (descriptor bases, neighbour tables, graphs) made during an inference-mode
    force call must not poison a later backward pass on the same lattice (they did: "Inference
    tensors cannot be saved for backward"). A fresh L per model keeps the caches cold."""
    L = 10 + 2 * ALL.index(name)
    m = small(name)
    m.as_force_fn()(torch.randn(1, L, L, dtype=torch.float64))
    m.train()
    loss = m(torch.randn(1, L, L, dtype=torch.float64)).pow(2).mean()
    loss.backward()
    grads = [p.grad for p in m.parameters() if p.grad is not None]  # (an energy's constant offsets get none)
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads)


def test_half_filling_mu_newton_equals_bisection():
    """The safeguarded Newton μ of the occupation head equals a 200-step bisection to rounding, for
    spread, clustered (domain-wall-like) and degenerate levels, and its gradient is the implicit one."""
    from holstein.filling import bisect_mu
    from holstein.models.occupation import half_filling_mu

    g = torch.Generator().manual_seed(0)
    cases = [torch.randn(3, 8, 8, generator=g, dtype=torch.float64) * 3,
             torch.cat([torch.full((1, 8, 4), -2.0), torch.full((1, 8, 4), 2.0)], -1).double()
             + 1e-3 * torch.randn(1, 8, 8, generator=g, dtype=torch.float64),
             torch.zeros(2, 6, 6, dtype=torch.float64)]
    for eps in cases:
        w = 0.1 + torch.rand(eps.shape, generator=g, dtype=torch.float64)
        B, N = eps.shape[0], eps[0].numel()
        e, ww = eps.reshape(B, N), w.reshape(B, N)
        ref = bisect_mu(lambda m: torch.sigmoid((m[:, None] - e) / ww).sum(-1), e.amin(-1) - 50, e.amax(-1) + 50,
                        N / 2, 200)
        mu = half_filling_mu(eps, w)
        torch.testing.assert_close(mu, ref, rtol=0, atol=1e-12)
        n = torch.sigmoid((mu[:, None, None] - eps) / w)
        torch.testing.assert_close(n.sum((-2, -1)), torch.full((B,), N / 2, dtype=torch.float64), rtol=0, atol=1e-10)
    e = cases[0][:1].clone().requires_grad_(True)
    w = torch.full_like(e, 0.3)
    (grad,) = torch.autograd.grad(half_filling_mu(e, w).sum(), e)
    torch.testing.assert_close(grad.sum(), torch.tensor(1.0, dtype=torch.float64))  # dμ/dε_i sums to 1


# -- holstein/models/checks.py: the checks the book shows -----------------------------------
def test_checks_measure_equivariance_backends_and_finite_differences():
    m = small("gcn_lean")
    Q = rand_field(2, L_CONF, L_CONF)
    dev = models.check_equivariance(m, Q)
    assert set(dev) == {"d4", "translations"} and max(dev.values()) < 1e-12
    assert models.backend_difference(m, Q) < 1e-12
    # a field function that is not D4 equivariant (it singles out the x direction) is caught
    assert models.equivariance_deviation(lambda a: translate(a, 1, 0) - a, Q) > 0.1
    e = small("energy_gnn_lean")
    Qe = rand_field(L_CONF, L_CONF)
    assert models.finite_difference_error(e, Qe, h=1e-4, generator=torch.Generator().manual_seed(0)) < 1e-6


def test_force_sensitivity_vanishes_outside_the_receptive_field():
    m = small("gcn_lean")
    R, L = m.receptive_field, 2 * m.receptive_field + 4
    grad = models.force_sensitivity(m, rand_field(L, L))
    x = torch.arange(L) - L // 2
    d = x.abs()[:, None] + x.abs()[None, :]
    assert grad[d > R].max() == 0 and grad[d == R].min() > 0


# ----------------------------------------------------------------------------- temperature as an input
def _random_film(m, std=0.3):
    for lin in m.film:
        torch.nn.init.normal_(lin.weight, std=std)
        torch.nn.init.normal_(lin.bias, std=std)
    return m


def test_temperature_model_starts_as_its_T_blind_twin():
    """Zero-initialised FiLM: at every kT the layers are gcn_lean_mu's; at the twin's kT the forces are equal."""
    blind = models.build("gcn_lean_mu").double()
    aware = models.build("gcn_lean_mu_T").double()
    aware.load_state_dict(blind.state_dict(), strict=False)
    Q = 2 * torch.randn(3, 6, 6)
    torch.testing.assert_close(aware(Q, kT=0.1), blind(Q), rtol=0, atol=0)
    assert (aware(Q, kT=1.0) - blind(Q)).abs().max() > 1e-3  # the width floor kT is physics


@pytest.mark.parametrize("kT", [0.05, 0.3, 1.0, 10.0])
def test_temperature_model_fills_half_at_every_kT(kT):
    m = _random_film(models.build("gcn_lean_mu_T").double())
    Q = 3 * torch.randn(2, 8, 8)
    Fe = m(Q, kT=kT) - elastic(Q, m.physics)
    assert Fe.sum(dim=(-2, -1)).abs().max() < 1e-9  # Σ g(n_i - 1/2) = 0: Σ n_i = N/2


def test_temperature_model_per_replica_kT_equals_one_by_one_and_is_equivariant():
    m = _random_film(models.build("gcn_lean_mu_T").double())
    Q = 3 * torch.randn(3, 6, 6)
    kTs = torch.tensor([0.05, 1.0, 8.0])
    F = m(Q, kT=kTs)
    for b in range(3):
        torch.testing.assert_close(F[b], m(Q[b], kT=float(kTs[b])), rtol=0, atol=1e-12)
    fn = m.as_force_fn(kT=2.0)
    assert models.equivariance_deviation(fn, Q[0]) < 1e-10
    assert (m(Q, kT=0.05) - m(Q, kT=8.0)).abs().max() > 1e-3  # kT is an input


def test_temperature_needs_the_occupation_head_and_a_positive_kT():
    with pytest.raises(ValueError, match="occupation"):
        models.build("gcn_lean", temperature=True)
    with pytest.raises(ValueError, match="kT > 0"):
        models.build("gcn_lean_mu_T")(torch.randn(4, 4), kT=0.0)
