"""Arithmetic cost of a force evaluation: multiply-accumulates (MACs) per lattice site.

One MAC is one multiply plus one add (2 flop). Counts come from the layer sizes:

- a·b MACs for every dense layer a -> b applied at every site;
- 4 operations per channel for each nearest-neighbour mean (the 4-term sum and the 1/4);
- not counted: biases, activations, LayerNorm, PyG's gather/scatter overhead (O(channels),
  below 1 % for these widths), and descriptor construction of the BP-MLPs.

For an energy model a force is a forward pass of E plus a backward pass for ∂E/∂Q; the usual
estimate forward + backward ≈ 3 × forward is used (a backward through a dense layer costs two
matrix products). With ``autograd.grad`` w.r.t. Q only the weight gradients are skipped and the
true cost is nearer 2 ×.
"""
from __future__ import annotations

from torch import nn

__all__ = ["macs_per_site"]


def macs_per_site(model, forces: bool = True) -> int:
    """MACs per lattice site of one force evaluation of ``model`` (``forces=False``: the bare
    forward pass). Models with their own ``forward_macs_per_site()`` (the GNNs) use it; others
    (descriptor MLPs) count ``in × out`` over their ``nn.Linear`` layers, each applied once per site."""
    if hasattr(model, "forward_macs_per_site"):
        fwd = int(model.forward_macs_per_site())
    else:
        fwd = sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))
    return 3 * fwd if (forces and getattr(model, "energy_based", False)) else fwd
