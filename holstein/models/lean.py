"""Lean GNN force fields: the reference architectures with small widths on the stencil backend.

``gcn_lean`` *is* :class:`~holstein.models.gcn.GCN` and ``energy_gnn_lean`` *is*
:class:`~holstein.models.energy_gnn.EnergyGNN`: the subclasses below only change the constructor
defaults (channels, and ``backend="stencil"``: the nearest-neighbour mean by ``torch.roll``,
:func:`~holstein.models.gcn.nn_mean`, instead of a PyG graph). One architecture, two
message-passing backends; any of the four models accepts either backend.

==================  ======================  ==========  ==============  ====================
model               channels                parameters  receptive field MACs/site (see below)
==================  ======================  ==========  ==============  ====================
gcn                 1-128-512-1024-2048-    10,753,793  8 hops (F)      10,769,924
                    1024-512-128-1
gcn_lean            1-32-64-64-32-1             16,705  5 hops (F)      17,284
energy_gnn          1-512-1024-512-1         7,357,697  3 (e), 6 (F)    3 × 7,347,968
energy_gnn_lean     1-32-64-32-1                29,777  3 (e), 6 (F)    3 × 29,168
==================  ======================  ==========  ==============  ====================

The physical forces are local within r <= √13 (the 8 shells; the farthest site (3, 2) is 5 nn hops
away): gcn_lean's 5 hops cover it exactly; the energy models' forces see 6 hops.
"""
from __future__ import annotations

from torch import nn

from ..params import PAPER
from . import register
from .energy_gnn import EnergyGNN
from .gcn import GCN, nn_mean

__all__ = ["GCNLean", "GCNLeanMu", "EnergyGNNLean", "flops_per_site", "nn_mean"]


@register("gcn_lean")
class GCNLean(GCN):
    """:class:`GCN` with channels (1, 32, 64, 64, 32, 1) on the stencil backend.

    16,705 parameters; receptive field 5 hops; equivariant to translations and D4.
    """

    DEFAULT_CHANNELS = (1, 32, 64, 64, 32, 1)

    def __init__(self, channels=DEFAULT_CHANNELS, backend: str = "stencil", target: str = "total",
                 params=None, head: str = "force"):
        super().__init__(channels=channels, backend=backend, target=target, params=params, head=head)


@register("gcn_lean_mu")
class GCNLeanMu(GCNLean):
    """:class:`GCNLean` with the occupation head: levels and widths per site, μ fixed globally.

    Learns n_i (target "electronic", the elastic force is exact); half filling Σ_i n_i = N/2
    holds by construction (see :mod:`holstein.models.base`). 16,770 parameters (two outputs
    per site instead of one); equivariant to translations and D4. ``params`` (the elastic force,
    g and kT of the head) default to the PAPER preset; a trained model records its own.
    """

    default_target = "electronic"

    def __init__(self, channels=GCNLean.DEFAULT_CHANNELS, backend: str = "stencil", target: str = "electronic",
                 params=None, head: str = "occupation"):
        super().__init__(channels=channels, backend=backend, target=target, params=params or PAPER, head=head)


@register("energy_gnn_lean")
class EnergyGNNLean(EnergyGNN):
    """:class:`EnergyGNN` with channels (1, 32, 64, 32, 1) on the stencil backend.

    Inner widths 24, 48, 24 (hidden_ratio 3/4): 29,777 parameters; forces see 6 hops;
    invariant energy, equivariant forces.
    """

    DEFAULT_CHANNELS = (1, 32, 64, 32, 1)

    def __init__(self, channels=DEFAULT_CHANNELS, hidden_ratio: float = 0.75,
                 activation: str = "silu", backend: str = "stencil", target: str = "total",
                 params=None):
        super().__init__(channels=channels, hidden_ratio=hidden_ratio, activation=activation,
                         backend=backend, target=target, params=params)


def flops_per_site(model, forces: bool = True) -> int:
    """Analytic multiply-add (MAC) count per lattice site of one force evaluation.

    Counts, from the layer sizes: a·b MACs for every dense layer a -> b applied at every site,
    plus 4 operations per channel for each nearest-neighbour mean (the 4-term sum and the 1/4,
    counted like MACs). Not counted: biases, activations, LayerNorm, the graph gather/scatter
    overhead of the PyG backend (all O(channels), below 1 % for these widths).

    For an energy model a force evaluation is a forward pass of E plus a backward pass for
    ∂E/∂Q; we use the usual estimate forward + backward ≈ 3 × forward (a backward through a
    dense layer costs two matrix products: input and weight gradients). With ``autograd.grad``
    w.r.t. Q only, the weight gradients are skipped and the true cost is nearer 2 ×; training
    (``create_graph=True``) costs more. ``forces=False`` returns the bare forward count.

    Models without a ``macs_per_site()`` method (e.g. descriptor-based MLPs) fall back to the
    sum of a·b over their ``nn.Linear`` layers, i.e. each applied once per site; descriptor
    construction is then not counted.
    """
    if hasattr(model, "macs_per_site"):
        fwd = int(model.macs_per_site())
    else:
        fwd = sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, nn.Linear))
    return 3 * fwd if (forces and getattr(model, "energy_based", False)) else fwd
