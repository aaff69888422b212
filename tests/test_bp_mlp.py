"""The Behler–Parrinello force model (holstein/models/bp_mlp.py): sizes, covariance, normalisation, errors.

The conformance checks shared by every model are in test_models.py.
"""
import pytest
import torch

from holstein import descriptors as desc
from holstein.lattice import D4_OPS, translate
from holstein.models import build


def test_bp_mlp_parameter_counts():
    assert build("bp_mlp_lean").n_parameters() == 9217
    widths = [45, 4096, 2048, 750, 592, 256, 127, 69, 1]
    assert sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:])) == 10_753_763
    assert build("bp_mlp", seed=0).n_parameters() == 10_753_763  # the reference network itself
    assert build("bp_mlp", hidden=(8,), init="reference", seed=0).n_parameters() == 46 * 8 + 9


@pytest.mark.parametrize("L", [8, 10])
def test_bp_mlp_lean_is_covariant(L):
    model = build("bp_mlp_lean", seed=0)
    Q = torch.randn(3, L, L)
    model.fit_normalisation(Q)
    F = model(Q)
    assert F.shape == Q.shape and F.dtype == torch.float64
    for op in D4_OPS:
        assert (model(op(Q)) - op(F)).abs().max() < 1e-10
    assert (model(translate(Q, 2, -3)) - translate(F, 2, -3)).abs().max() < 1e-10
    one = torch.stack([model(Q[b]) for b in range(3)])  # (L, L) inputs, one by one
    assert (one - F).abs().max() < 1e-12


def test_bp_mlp_normalisation_and_rebuild():
    model = build("bp_mlp_lean", seed=1, extended=True)
    Q = 2.0 * torch.randn(4, 8, 8) + 0.5
    model.fit_normalisation(Q)
    assert model.desc_mean.shape == (56,)
    d = (desc.descriptors(Q, extended=True) - model.desc_mean) / model.desc_std
    assert torch.allclose(d.mean((0, 1, 2)), torch.zeros(56), atol=1e-10)
    assert torch.allclose(d.std((0, 1, 2), unbiased=False), torch.ones(56), atol=1e-10)
    clone = build("bp_mlp_lean", **model.config())
    clone.load_state_dict(model.state_dict())
    assert torch.equal(clone(Q), model(Q))
    # same seed, same weights
    assert torch.equal(build("bp_mlp_lean", seed=1, extended=True).mlp[0].weight, model.mlp[0].weight)


def test_bp_mlp_errors():
    with pytest.raises(ValueError, match="init"):
        build("bp_mlp_lean", init="xavier")
    with pytest.raises(ValueError, match="hidden"):
        build("bp_mlp_lean", hidden=())
    with pytest.raises(ValueError, match="electronic"):
        build("bp_mlp_lean", target="electronic")
