"""Direct-force graph convolutional network (GCN) on the square lattice, and the two
message-passing backends shared by every GNN in this package.

Message passing (written once, two backends)
--------------------------------------------
Every GNN here only needs the mean over the 4 nearest neighbours of a node feature,

    (M h)_i = (1/4) Σ_{j ∈ nn(i)} h_j ,

which exists in two interchangeable implementations, tested to agree to 1e-12 in float64:

- ``backend="pyg"`` (reference): torch_geometric convolutions on the lattice graph of
  :func:`lattice_graph` (nodes i = x*L + y, batched over B by offsetting the node index by b*N);
- ``backend="stencil"`` (fast): :func:`nn_mean`, four ``torch.roll`` of a channels-last field
  ``(B, L, L, C)`` via :func:`holstein.lattice.neighbour_sum`; no graph, no scatter.

The GCN
-------
With h⁰_i = x_i = Q_i / q_scale (one channel) and channels c_0 = 1, c_1, ..., c_n = 1,

    h^{l+1}_i = σ_l( W_s^l h^l_i + b^l + W_n^l (1/4) Σ_{j∈nn(i)} h^l_j ),   l = 0..n-1,

σ_l = ReLU except for the last layer (identity); the normalised force is f_i = h^n_i and
F_i = f_scale · f_i. In PyG terms, layer l is ``GCNConv_self(h) + GCNConv_nb(h)`` where

- ``GCNConv_self``: ``GCNConv(c_l, c_{l+1}, normalize=False, add_self_loops=False, bias=True)`` on
  the N self edges i -> i with unit weights, i.e. W_s h_i + b;
- ``GCNConv_nb``: ``GCNConv(c_l, c_{l+1}, normalize=True, add_self_loops=False, bias=False)`` on
  the 4N nearest-neighbour edges j -> i. The symmetric GCN normalisation weights an edge by
  1/sqrt(deg_i deg_j); every node of the periodic lattice has degree exactly 4 (at L = 2 the
  ±x neighbours coincide and count twice, as in the stencil), so the weight is 1/sqrt(16) = 1/4
  exactly and the sum over the 4 edges is the neighbour *mean*. ``add_self_loops=False`` is
  essential: PyG's default would add i -> i, giving deg 5 and weights 1/5 on the neighbours
  *and* the site itself. (Tested in ``tests/test_models.py``.)

Parameters: Σ_l (2 c_l c_{l+1} + c_{l+1}). Default channels (1, 128, 512, 1024, 2048, 1024,
512, 128, 1): **10,753,793** parameters. Receptive field: F_i depends on Q_j for j within
n nearest-neighbour hops (Manhattan distance |dx| + |dy| <= n): 8 hops for the default, more than
the physical cutoff r <= √13 (the farthest shell site (3, 2) is 5 hops away).

Equivariance: the update is the same at every site and the neighbour mean is invariant under
permutations of the 4 neighbours, so F(gQ) = g F(Q) for all lattice translations and the 8
operations of D4 (exact up to rounding).
"""
from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from ..lattice import SquareLattice, neighbour_sum
from . import register
from .base import ForceModel

__all__ = ["GCN", "nn_mean", "lattice_graph", "batched_graph", "tiled", "BACKENDS", "STENCIL_TILE"]

BACKENDS = ("pyg", "stencil")
#: Tile edge of the stencil backend on the CPU (see :func:`tiled`); None: never tile.
STENCIL_TILE = 32


def tiled(fn, x: torch.Tensor, halo: int, tile: int | None = None) -> torch.Tensor:
    """``fn(x)`` for a site-local ``fn`` on the periodic field ``x: (B, L, L)``, evaluated tile by tile.

    ``fn`` maps ``(B, l, l)`` to ``(B, l, l, ...)`` through ``halo`` nearest-neighbour hops, with
    periodic wrapping (torch.roll). Each ``tile × tile`` block of the output is computed from its
    ``(tile + 2 halo)²`` neighbourhood cut out of the periodically padded field, and the outer
    ``halo`` rings, where the wrap inside the cut-out is wrong, are discarded. Every kept site sees
    exactly its true neighbourhood and the same arithmetic, so the result equals ``fn(x)`` (tested
    to 1e-12). Why: on a CPU the activations of a 32×32 tile stay in cache, while those of a
    512×512 lattice (~130 MB per 64-channel layer) stream through memory, which made the time per
    site at L = 512 four times that at L = 64. Not used on GPUs (they want large tensors), nor for
    ``L <= 4 tile`` (up to 128×128 a whole layer fits in cache, and the halos would only add work:
    at L = 40 they made a step 3× slower). ``tile`` defaults to :data:`STENCIL_TILE`.
    """
    tile = STENCIL_TILE if tile is None else tile
    B, L, _ = x.shape
    if not tile or L <= 4 * tile or x.device.type != "cpu" or halo >= L:
        return fn(x)
    r = halo
    xp = torch.cat([x[:, L - r:], x, x[:, :r]], dim=1)
    xp = torch.cat([xp[:, :, L - r:], xp, xp[:, :, :r]], dim=2)  # (B, L + 2r, L + 2r)
    rows = []
    for i in range(0, L, tile):
        ti = min(tile, L - i)
        cols = [fn(xp[:, i:i + ti + 2 * r, j:j + min(tile, L - j) + 2 * r])[:, r:r + ti, r:r + min(tile, L - j)]
                for j in range(0, L, tile)]
        rows.append(torch.cat(cols, dim=2))
    return torch.cat(rows, dim=1)


# -- message passing: the stencil backend ---------------------------------------------------
def nn_mean(h: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour mean (1/4) Σ_{j∈nn(i)} h_j of a channels-last field.

    ``h: (B, L, L, C)`` -> ``(B, L, L, C)`` (periodic). The one stencil every lattice GNN uses.
    """
    return 0.25 * neighbour_sum(h.movedim(-1, -3)).movedim(-3, -1)


# -- message passing: the graph (PyG) backend ---------------------------------------------
@lru_cache(maxsize=64)
def lattice_graph(L: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Edges of one L×L lattice, cached per (L, device).

    Returns ``(self_edges, nn_edges)``: ``(2, N)`` edges i -> i and ``(2, 4N)`` edges j -> i for
    the 4 nearest neighbours j of i (row 0 = source j, row 1 = target i, PyG's
    ``source_to_target`` flow), with i = x*L + y as in :class:`SquareLattice`.
    """
    lat = SquareLattice(L)
    nbr = torch.as_tensor(lat.neighbours, dtype=torch.long)  # (N, 4)
    tgt = torch.arange(lat.N).repeat_interleave(4)  # (4N,)
    nn_edges = torch.stack([nbr.reshape(-1), tgt]).to(device)
    self_edges = torch.arange(lat.N).repeat(2, 1).to(device)
    return self_edges, nn_edges


def batched_graph(L: int, B: int, device) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`lattice_graph` for a batch of B disjoint lattices: node b*N + i (the order of
    ``Q.reshape(B * N)``)."""
    N = L * L
    out = []
    for e in lattice_graph(L, torch.device(device)):
        off = (torch.arange(B, device=e.device) * N).repeat_interleave(e.shape[1])  # (B*E,)
        out.append(e.repeat(1, B) + off)
    return out[0], out[1]


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


@register("gcn")
class GCN(ForceModel):
    """Direct-force GCN (see the module docstring for the equations).

    Args:
        channels: widths (1, c_1, ..., 1); input and output must be 1.
        backend: ``"pyg"`` (GCNConv on the lattice graph) or ``"stencil"`` (torch.roll); same
            weights, same result.
        target, physics: see :class:`~holstein.models.base.ForceModel`.

    Shapes: ``predict(x: (B, L, L)) -> (B, L, L)``. Parameters: Σ_l (2 c_l c_{l+1} + c_{l+1});
    10,753,793 for the default channels. Equivariant to translations and D4.
    """

    DEFAULT_CHANNELS = (1, 128, 512, 1024, 2048, 1024, 512, 128, 1)

    def __init__(self, channels=DEFAULT_CHANNELS, backend: str = "pyg", target: str = "total",
                 physics=None, head: str = "force"):
        from torch_geometric.nn import GCNConv

        super().__init__(target=target, physics=physics, head=head)
        channels = tuple(int(c) for c in channels)
        if len(channels) < 2 or channels[0] != 1 or channels[-1] != 1 or min(channels) < 1:
            raise ValueError(f"channels must be (1, ..., 1) with positive widths, got {channels}")
        self.channels = channels
        widths = channels[:-1] + (2 if head == "occupation" else 1,)  # occupation head: level and width
        self.backend = check_backend(backend)
        self.self_convs = nn.ModuleList(
            GCNConv(a, b, normalize=False, add_self_loops=False, bias=True)
            for a, b in zip(widths[:-1], widths[1:]))
        self.nb_convs = nn.ModuleList(
            GCNConv(a, b, normalize=True, add_self_loops=False, bias=False)
            for a, b in zip(widths[:-1], widths[1:]))
        self._config.update(channels=list(channels), backend=backend)

    @property
    def receptive_field(self) -> int:
        """Nearest-neighbour hops that F_i depends on: one per layer."""
        return len(self.channels) - 1

    def forward_macs_per_site(self) -> int:
        """Multiply-adds per site of one forward pass (see :func:`~.cost.macs_per_site`)."""
        c = self.channels[:-1] + ((2,) if self.head == "occupation" else (1,))  # the layers' widths
        return sum(2 * a * b + 4 * b for a, b in zip(c[:-1], c[1:]))

    def _stencil(self, x: torch.Tensor) -> torch.Tensor:
        """The network on the stencil backend: ``(B, l, l)`` -> ``(B, l, l, c_n)``."""
        n = len(self.self_convs)
        h = x.unsqueeze(-1)  # (B, l, l, 1)
        for k, (cs, cn) in enumerate(zip(self.self_convs, self.nb_convs)):
            h = cs.lin(h) + cs.bias + nn_mean(cn.lin(h))  # (B, l, l, c_{k+1})
            if k < n - 1:
                h = torch.relu(h)
        return h

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        B, L, _ = x.shape
        n = len(self.self_convs)
        if self.backend == "pyg":
            self_e, nn_e = batched_graph(L, B, x.device)
            h = x.reshape(B * L * L, 1)  # (B*N, 1), node b*N + x*L + y
            for k, (cs, cn) in enumerate(zip(self.self_convs, self.nb_convs)):
                h = cs(h, self_e) + cn(h, nn_e)  # (B*N, c_{k+1})
                if k < n - 1:
                    h = torch.relu(h)
        else:
            h = tiled(self._stencil, x, n)  # (B, L, L, c_n)
        h = h.reshape(B, L, L, -1)
        return h[..., 0] if self.head == "force" else h  # (B, L, L) forces or (B, L, L, 2) levels, widths
