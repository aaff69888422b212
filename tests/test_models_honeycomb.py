"""The square lattice's graph networks moved unchanged to the honeycomb: the same layers given the
honeycomb graph (``physics.lattice = "honeycomb"``), no new descriptors. Equivariance under all 12
operations of C6v (the odd rotations exchange the sublattices) and the translations, the two backends
against each other, exact half filling, and refusals of the other lattice's fields."""
import pytest
import torch

from holstein import PAPER, models
from holstein.lattice import HoneycombLattice

HC = PAPER.replace(lattice="honeycomb")
NAMES = ("gcn_lean", "gcn_lean_mu", "gcn_lean_mu_T")


def model(name, backend="stencil", seed=0):
    torch.manual_seed(seed)
    m = models.build(name, physics=HC.to_dict(), backend=backend).double().eval()
    with torch.no_grad():  # O(1) weights (FiLM included) so that no symmetry holds by accident
        for prm in m.parameters():
            prm.normal_(0.0, 0.3)
    return m


def field(B, L, seed=1):
    return 3.0 * torch.randn((B, L, L, 2), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize("name", NAMES)
def test_forces_are_equivariant_under_c6v_and_translations(name):
    L = 4
    lat, m, Q = HoneycombLattice(L), model(name), field(2, L)
    F = m(Q)
    assert F.shape == Q.shape and F.std() > 0.1
    ops = [(lambda a, g=g: lat.apply(a, g)) for g in lat.point_group]
    ops += [(lambda a, d=d: lat.translate(a, *d)) for d in ((1, 0), (0, 3), (2, 1))]
    for op in ops:
        torch.testing.assert_close(m(op(Q)), op(F), rtol=0, atol=1e-11)


@pytest.mark.parametrize("L", [2, 3, 5])
def test_graph_and_stencil_backends_agree_on_the_honeycomb(L):
    sten = model("gcn_lean_mu")
    pyg = models.build("gcn_lean_mu", physics=HC.to_dict(), backend="pyg").double().eval()
    pyg.load_state_dict(sten.state_dict())
    Q = field(3, L, seed=L)
    torch.testing.assert_close(pyg(Q), sten(Q), rtol=0, atol=1e-11)


def test_the_global_read_out_fills_exactly_half_of_the_2L2_sites():
    m, Q = model("gcn_lean_mu_T"), field(2, 4)
    x = m._normalise(m._prepare(Q)[0])
    h = m.stencil_forward(x, m._film(m._kT(None, x)))
    n = m.readout.density(h, m.q_scale, m._kT(torch.tensor([0.1, 2.0]), x))
    torch.testing.assert_close(n.sum(dim=(-3, -2, -1)), torch.full((2,), 16.0, dtype=torch.float64), rtol=0, atol=1e-9)


def test_a_model_refuses_the_other_lattices_fields():
    with pytest.raises(ValueError, match=r"honeycomb field of shape \(L, L, 2\)"):
        model("gcn_lean_mu")(torch.zeros(4, 4, dtype=torch.float64))
    square = models.build("gcn_lean_mu", physics=PAPER.to_dict()).double()
    with pytest.raises(ValueError, match=r"must have shape \(L, L\) or \(B, L, L\)"):
        square(torch.zeros(2, 4, 4, 2, dtype=torch.float64))
