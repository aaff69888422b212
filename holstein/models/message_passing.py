"""Message passing on the periodic square lattice, written once, with two interchangeable backends.

Every GNN here only needs the mean over the 4 nearest neighbours of a node feature,

    (M h)_i = (1/4) Σ_{j ∈ nn(i)} h_j ,

which exists in two implementations, tested to agree to 1e-12 in float64:

- ``backend="stencil"`` (fast, torch only): :func:`nn_mean`, four shifted views of a periodically
  padded channels-last field ``(B, L, L, C)``; no graph, no scatter; evaluated tile by tile on
  the CPU for large lattices (:func:`tiled`);
- ``backend="pyg"`` (reference): torch_geometric on the lattice graph of :func:`lattice_graph`
  (nodes i = x*L + y, batched over B by offsetting the node index by b*N): the ``GCNConv`` pairs of
  the GCN (:func:`gcn_conv`) and the mean aggregation :class:`NeighbourMean` of the energy GNN.

torch_geometric is imported only where the ``pyg`` backend is used (inside :func:`gcn_conv` and on
first access to :class:`NeighbourMean`): the stencil models build and run without it.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import nn

from ..lattice import get as get_lattice

# NeighbourMean is public too, but left out of __all__: a star import must not pull in torch_geometric
__all__ = ["BACKENDS", "STENCIL_TILE", "check_backend", "nn_mean", "nn_mean_honeycomb", "tiled", "lattice_graph", "batched_graph",
           "SiteLinear", "gcn_conv"]

BACKENDS = ("pyg", "stencil")
#: Tile edge of the stencil backend on the CPU (see :func:`tiled`); None: never tile.
STENCIL_TILE = 64


def check_backend(backend: str) -> str:
    """``backend`` itself if it is one of :data:`BACKENDS`, else ValueError."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return backend


# -- the stencil backend ----------------------------------------------------------------------
def nn_mean(h: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour mean (1/4) Σ_{j∈nn(i)} h_j of a channels-last field.

    ``h: (B, L1, L2, C)`` -> same (periodic). The one stencil every lattice GNN uses.

    Computed on a copy padded by one periodic ring, as four shifted views added in place: one
    write of the padded field instead of the four full copies of ``torch.roll`` (3× faster on a
    channels-last CPU field). At L = 2 the two neighbours along an axis coincide and count twice,
    as in :func:`holstein.lattice.neighbour_sum`.
    """
    B, L1, L2, C = h.shape
    hp = h.new_empty(B, L1 + 2, L2 + 2, C)
    hp[:, 1:-1, 1:-1] = h
    hp[:, 0, 1:-1], hp[:, -1, 1:-1] = h[:, -1], h[:, 0]
    hp[:, 1:-1, 0], hp[:, 1:-1, -1] = h[:, :, -1], h[:, :, 0]
    s = hp[:, :-2, 1:-1] + hp[:, 2:, 1:-1]
    s += hp[:, 1:-1, :-2]
    s += hp[:, 1:-1, 2:]
    return s.mul_(0.25)


def nn_mean_honeycomb(h: torch.Tensor) -> torch.Tensor:
    """Neighbour mean (1/3) Σ_{j∈nn(i)} h_j of a channels-last honeycomb field ``h: (B, L, L, 2, C)``:
    on A(x, y) the B at (x, y), (x−1, y), (x, y−1); on B(x, y) the A at (x, y), (x+1, y), (x, y+1)."""
    A, B = h[:, :, :, 0], h[:, :, :, 1]
    nA = B + B.roll(1, 1) + B.roll(1, 2)
    nB = A + A.roll(-1, 1) + A.roll(-1, 2)
    return torch.stack([nA, nB], 3).mul_(1 / 3)


def tiled(fn, x: torch.Tensor, halo: int, tile: int | None = None) -> torch.Tensor:
    """``fn(x)`` for a site-local ``fn`` on the periodic field ``x: (B, L, L)``, evaluated tile by tile.

    ``fn`` maps ``(B, l, l)`` to ``(B, l, l, ...)`` through ``halo`` nearest-neighbour hops, with
    periodic wrapping (torch.roll). Each ``tile × tile`` block of the output is computed from its
    ``(tile + 2 halo)²`` neighbourhood cut out of the periodically padded field, and the outer
    ``halo`` rings, where the wrap inside the cut-out is wrong, are discarded. Every kept site sees
    exactly its true neighbourhood and the same arithmetic, so the result equals ``fn(x)`` (tested
    to 1e-12). Why: on a CPU the activations of a 64×64 tile stay in cache, while those of a
    512×512 lattice (~130 MB per 64-channel layer) stream through memory (measured with the fused
    GCN layers, ns per site, one thread: L = 512 untiled 2819, tiles of 32 / 64 / 128: 1506 / 1060 /
    2245; at L = 200 untiled 1141 against 1288 in tiles of 64). Not used on GPUs (they want large
    tensors), nor for ``L <= 4 tile`` (up to 256×256 the halos only add work). ``tile`` defaults
    to :data:`STENCIL_TILE`.
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


class SiteLinear(nn.Module):
    """h -> W h (+ b) at every site: the parameters of a PyG ``GCNConv(a, b)`` without torch_geometric.

    Same names and shapes (``lin.weight: (b, a)``, ``bias: (b,)`` or None), same initialisation
    (Glorot-uniform drawn twice, as ``GCNConv`` does: once in its ``Linear``, once in
    ``reset_parameters``; bias 0), hence the same weights for the same seed and interchangeable
    state dicts between the two backends. ``forward(h: (..., a)) -> (..., b)``.
    """

    def __init__(self, a: int, b: int, bias: bool = True):
        super().__init__()
        self.lin = nn.utils.skip_init(nn.Linear, a, b, bias=False)  # no random draw here
        self.bias = nn.Parameter(torch.zeros(b)) if bias else None
        bound = math.sqrt(6.0 / (a + b))
        with torch.no_grad():
            for _ in range(2):
                self.lin.weight.uniform_(-bound, bound)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        h = self.lin(h)
        return h if self.bias is None else h + self.bias


# -- the graph (PyG) backend --------------------------------------------------------------------
@lru_cache(maxsize=64)
def lattice_graph(L: int, device: torch.device | str = "cpu", lattice: str = "square") -> tuple[torch.Tensor, torch.Tensor]:
    """Edges of one lattice of linear size L, cached per (L, device, lattice).

    Returns ``(self_edges, nn_edges)``: ``(2, N)`` edges i -> i and ``(2, zN)`` edges j -> i for
    the z nearest neighbours j of i (row 0 = source j, row 1 = target i, PyG's
    ``source_to_target`` flow), with i the lattice's flat index (x*L + y on the square lattice, z = 4;
    (x*L + y)*2 + s on the honeycomb, z = 3).
    """
    lat = get_lattice(lattice)(L)
    with torch.inference_mode(False):  # cached: must stay usable by autograd after an inference call
        nbr = torch.as_tensor(lat.neighbours, dtype=torch.long)  # (N, z)
        tgt = torch.arange(lat.N).repeat_interleave(nbr.shape[1])  # (zN,)
        nn_edges = torch.stack([nbr.reshape(-1), tgt]).to(device)
        self_edges = torch.arange(lat.N).repeat(2, 1).to(device)
    return self_edges, nn_edges


def batched_graph(L: int, B: int, device, lattice: str = "square") -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`lattice_graph` for a batch of B disjoint lattices: node b*N + i (the order of
    ``Q.reshape(B * N)``)."""
    N = get_lattice(lattice)(L).N
    out = []
    for e in lattice_graph(L, torch.device(device), lattice):
        off = (torch.arange(B, device=e.device) * N).repeat_interleave(e.shape[1])  # (B*E,)
        out.append(e.repeat(1, B) + off)
    return out[0], out[1]


def gcn_conv(a: int, b: int, neighbours: bool, backend: str) -> nn.Module:
    """One of the two convolutions of a GCN layer a -> b (see :mod:`holstein.models.gcn`).

    ``neighbours=False``: the self term W_s h_i + b, ``GCNConv(a, b, normalize=False,
    add_self_loops=False, bias=True)`` on the self edges; ``neighbours=True``: the neighbour term
    W_n (1/4) Σ_nn h_j, ``GCNConv(a, b, normalize=True, add_self_loops=False, bias=False)`` on the
    nn edges (weight 1/sqrt(4·4) per edge: the mean). For ``backend="stencil"`` the same parameters
    as a torch-only :class:`SiteLinear`. Either has ``.lin`` and ``.bias``, which the stencil uses.
    """
    if check_backend(backend) == "stencil":
        return SiteLinear(a, b, bias=not neighbours)
    from torch_geometric.nn import GCNConv

    return GCNConv(a, b, normalize=neighbours, add_self_loops=False, bias=not neighbours)


@lru_cache(maxsize=1)
def _neighbour_mean_class() -> type:
    from torch_geometric.nn import MessagePassing

    class NeighbourMean(MessagePassing):
        """PyG mean aggregation over incoming edges: ``out_i = mean_{j -> i} x_j``.

        On the nearest-neighbour graph of :func:`lattice_graph` this is (1/4) Σ_{j∈nn(i)} x_j.
        ``forward(x: (num_nodes, C), edge_index: (2, E)) -> (num_nodes, C)``. No parameters.
        """

        def __init__(self):
            super().__init__(aggr="mean")

        def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
            return self.propagate(edge_index, x=x)

        def message(self, x_j: torch.Tensor) -> torch.Tensor:
            return x_j

    NeighbourMean.__module__, NeighbourMean.__qualname__ = __name__, "NeighbourMean"  # picklable by name
    return NeighbourMean


def __getattr__(name: str):
    # NeighbourMean subclasses torch_geometric's MessagePassing: define it on first use only
    if name == "NeighbourMean":
        return _neighbour_mean_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
