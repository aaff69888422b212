"""Lean GNN force fields: the reference architectures with small widths on the stencil backend.

``gcn_lean`` *is* :class:`~holstein.models.gcn.GCN` and ``energy_gnn_lean`` *is*
:class:`~holstein.models.energy_gnn.EnergyGNN`: the subclasses below only change the constructor
defaults (channels, and ``backend="stencil"``: the nearest-neighbour mean by ``torch.roll``,
:func:`~holstein.models.message_passing.nn_mean`, instead of a PyG graph; no torch_geometric needed). One architecture, two
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

from ..params import PAPER, HolsteinParams
from . import register
from .energy_gnn import EnergyGNN
from .gcn import GCN

__all__ = ["GCNLean", "GCNLeanMu", "GCNLeanMuT", "EnergyGNNLean"]


@register("gcn_lean")
class GCNLean(GCN):
    """:class:`GCN` with channels (1, 32, 64, 64, 32, 1) on the stencil backend.

    16,705 parameters; receptive field 5 hops; equivariant to translations and D4.
    """

    DEFAULT_CHANNELS = (1, 32, 64, 64, 32, 1)

    def __init__(self, channels=DEFAULT_CHANNELS, backend: str = "stencil", target: str = "total",
                 physics=None, head: str = "force", center=False, temperature: bool = False):
        super().__init__(channels=channels, backend=backend, target=target, physics=physics, head=head,
                         center=center, temperature=temperature)


@register("gcn_lean_mu")
class GCNLeanMu(GCNLean):
    """:class:`GCNLean` with the occupation head: levels and widths per site, μ fixed globally.

    Learns n_i (target "electronic", the elastic force is exact); half filling Σ_i n_i = N/2
    holds by construction (see :mod:`holstein.models.occupation`). 16,770 parameters (two outputs
    per site instead of one); equivariant to translations and D4. ``physics`` (the elastic force,
    g and kT of the head) default to the PAPER preset; a trained model records its own.
    """

    default_target = "electronic"

    def __init__(self, channels=GCNLean.DEFAULT_CHANNELS, backend: str = "stencil", target: str = "electronic",
                 physics: HolsteinParams | dict | None = PAPER, head: str = "occupation", center=False,
                 temperature: bool = False):
        super().__init__(channels=channels, backend=backend, target=target, physics=physics or PAPER, head=head,
                         center=center, temperature=temperature)


@register("gcn_lean_mu_T")
class GCNLeanMuT(GCNLeanMu):
    """:class:`GCNLeanMu` with the electrons' temperature as an input: one model for every kT.

    kT is the floor of the occupation widths (half filling exact at every kT) and, through
    τ = (u, u²), u = log10(kT/0.1), a FiLM scale and shift of every layer (:mod:`.gcn`).
    16,770 + 6·(32 + 64 + 64 + 32 + 2) = 17,934 parameters; equivariant to translations and D4 at
    every kT. ``forward(Q, kT)``; kT defaults to ``physics.kT``.
    """

    def __init__(self, channels=GCNLean.DEFAULT_CHANNELS, backend: str = "stencil", target: str = "electronic",
                 physics: HolsteinParams | dict | None = PAPER, head: str = "occupation", center=False,
                 temperature: bool = True):
        super().__init__(channels=channels, backend=backend, target=target, physics=physics, head=head,
                         center=center, temperature=temperature)


@register("energy_gnn_lean")
class EnergyGNNLean(EnergyGNN):
    """:class:`EnergyGNN` with channels (1, 32, 64, 32, 1) on the stencil backend.

    Inner widths 24, 48, 24 (hidden_ratio 3/4): 29,777 parameters; forces see 6 hops;
    invariant energy, equivariant forces.
    """

    DEFAULT_CHANNELS = (1, 32, 64, 32, 1)

    def __init__(self, channels=DEFAULT_CHANNELS, hidden_ratio: float = 0.75,
                 activation: str = "silu", backend: str = "stencil", target: str = "total",
                 physics=None, center=False):
        super().__init__(channels=channels, hidden_ratio=hidden_ratio, activation=activation,
                         backend=backend, target=target, physics=physics, center=center)
