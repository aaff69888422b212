"""Direct-force graph convolutional network (GCN) on the square lattice.

With h⁰_i = x_i = Q_i / q_scale (one channel) and channels c_0 = 1, c_1, ..., c_n = 1,

    h^{l+1}_i = σ_l( W_s^l h^l_i + b^l + W_n^l (1/4) Σ_{j∈nn(i)} h^l_j ),   l = 0..n-1,

σ_l = ReLU except for the last layer (identity); the normalised force is f_i = h^n_i and
F_i = f_scale · f_i. The nearest-neighbour mean is message passing on either backend of
:mod:`holstein.models.message_passing`. In PyG terms (``backend="pyg"``), layer l is
``GCNConv_self(h) + GCNConv_nb(h)`` where

- ``GCNConv_self``: ``GCNConv(c_l, c_{l+1}, normalize=False, add_self_loops=False, bias=True)`` on
  the N self edges i -> i with unit weights, i.e. W_s h_i + b;
- ``GCNConv_nb``: ``GCNConv(c_l, c_{l+1}, normalize=True, add_self_loops=False, bias=False)`` on
  the 4N nearest-neighbour edges j -> i. The symmetric GCN normalisation weights an edge by
  1/sqrt(deg_i deg_j); every node of the periodic lattice has degree exactly 4 (at L = 2 the
  ±x neighbours coincide and count twice, as in the stencil), so the weight is 1/sqrt(16) = 1/4
  exactly and the sum over the 4 edges is the neighbour *mean*. ``add_self_loops=False`` is
  essential: PyG's default would add i -> i, giving deg 5 and weights 1/5 on the neighbours
  *and* the site itself. (Tested in ``tests/test_models.py``.)

``backend="stencil"`` holds the same parameters (same names, initialisation and random draws) in
torch-only :class:`~holstein.models.message_passing.SiteLinear` modules and needs no torch_geometric.

Occupation head (``head="occupation"``, target "electronic"): the last layer has 2 outputs per
site, levels and widths, and the GCN's :class:`~holstein.models.occupation.OccupationReadout`
turns them into normalised forces through a global μ; ``predict`` is ``(B, L, L)`` either way.

Temperature as an input (``temperature=True``, occupation head only): the electrons' kT enters
twice. As physics, it is the Fermi width's floor, w_i = kT + softplus(·), so half filling stays
exact at every kT. As a global input, the features τ = (u, u²) with u = log10(kT / 0.1) modulate
every layer (FiLM: h -> h (1 + s_l(τ)) + b_l(τ), with s_l, b_l linear in τ and zero at
initialisation), which is what a second, constant input channel would do to the first layer, and
more: 2·(2 + 1)·c_{l+1} parameters per layer, O(c) work per configuration, none per site.

Parameters: Σ_l (2 c_l c_{l+1} + c_{l+1}) (the last layer's c_n counted 2 for the occupation head).
Default channels (1, 128, 512, 1024, 2048, 1024, 512, 128, 1): **10,753,793** parameters.
Receptive field: F_i depends on Q_j for j within n nearest-neighbour hops (Manhattan distance
|dx| + |dy| <= n): 8 hops for the default, more than the physical cutoff r <= √13 (the farthest
shell site (3, 2) is 5 hops away).

Equivariance: the update is the same at every site and the neighbour mean is invariant under
permutations of the 4 neighbours, so F(gQ) = g F(Q) for all lattice translations and the 8
operations of D4 (exact up to rounding; the occupation head's μ is a permutation-invariant
function of all levels).
"""
from __future__ import annotations

import torch
from torch import nn

from . import register
from .base import ForceModel
from .message_passing import batched_graph, check_backend, gcn_conv, nn_mean, nn_mean_honeycomb, tiled
from .occupation import OccupationReadout

__all__ = ["GCN", "HEADS"]

HEADS = ("force", "occupation")


def fused_layer(h: torch.Tensor, W_self: torch.Tensor, W_nb: torch.Tensor, bias: torch.Tensor,
                mean=nn_mean) -> torch.Tensor:
    """One GCN layer W_s h_i + b + W_n (1/4) Σ_nn h_j with the neighbour mean on the narrower side.

    The neighbour mean M commutes with the per-site linear map, M(W h) = W (M h), so it is taken on
    the input when c_in <= c_out (``h W_s^T + b``, then ``+= (M h) W_n^T`` in place) and on the output
    otherwise (``M(h W_n^T) + h W_s^T + b``): the stencil then streams min(c_in, c_out) channels,
    and the bias rides in the matrix product. Equal to the two-product form to rounding (≤ 2e-14
    absolute in float64 on the lean GCN at L = 200); with the padded :func:`nn_mean`, the lean
    trunk at L = 200 in float32 went from 206 to ~20 ms (CPU; benchmarks/step_L200.json).

    ``h: (B, l1, l2, c_in)``, ``W_self, W_nb: (c_out, c_in)``, ``bias: (c_out,)`` -> ``(B, l1, l2, c_out)``;
    ``mean``: the lattice's neighbour mean (:func:`nn_mean`, or :func:`nn_mean_honeycomb` on
    ``(B, L, L, 2, c)``).
    """
    *lead, ci = h.shape
    co = W_self.shape[0]
    flat = h.reshape(-1, ci)
    if ci <= co:
        y = torch.addmm(bias, flat, W_self.t())
        return y.addmm_(mean(h).reshape(-1, ci), W_nb.t()).reshape(*lead, co)
    y = mean((flat @ W_nb.t()).reshape(*lead, co))
    y += torch.addmm(bias, flat, W_self.t()).reshape(*lead, co)
    return y


@register("gcn")
class GCN(ForceModel):
    """Direct-force GCN (see the module docstring for the equations).

    Args:
        channels: widths (1, c_1, ..., 1); input and output must be 1.
        backend: ``"pyg"`` (GCNConv on the lattice graph) or ``"stencil"`` (torch.roll); same
            weights, same result.
        head: ``"force"`` (the last channel is f_i) or ``"occupation"`` (two last channels, levels
            and widths, read out through a global μ; needs ``target="electronic"``).
        target, physics, center: see :class:`~holstein.models.base.ForceModel`.

    Shapes: ``predict(x: (B, L, L)) -> (B, L, L)``. Parameters: Σ_l (2 c_l c_{l+1} + c_{l+1});
    10,753,793 for the default channels. Equivariant to translations and D4.
    """

    DEFAULT_CHANNELS = (1, 128, 512, 1024, 2048, 1024, 512, 128, 1)

    def __init__(self, channels=DEFAULT_CHANNELS, backend: str = "pyg", target: str = "total",
                 physics=None, head: str = "force", center=False, temperature: bool = False):
        super().__init__(target=target, physics=physics, center=center)
        if temperature and head != "occupation":
            raise ValueError("temperature=True needs head='occupation' (kT is the width of its occupations)")
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if head == "occupation" and target != "electronic":
            raise ValueError("head='occupation' predicts n_i: it needs target='electronic'")
        channels = tuple(int(c) for c in channels)
        if len(channels) < 2 or channels[0] != 1 or channels[-1] != 1 or min(channels) < 1:
            raise ValueError(f"channels must be (1, ..., 1) with positive widths, got {channels}")
        self.channels = channels
        self.head = head
        self.backend = check_backend(backend)
        widths = self.layer_widths
        self.self_convs = nn.ModuleList(gcn_conv(a, b, False, backend) for a, b in zip(widths[:-1], widths[1:]))
        self.nb_convs = nn.ModuleList(gcn_conv(a, b, True, backend) for a, b in zip(widths[:-1], widths[1:]))
        self.readout = OccupationReadout(self.physics) if head == "occupation" else None
        self.temperature = bool(temperature)
        if self.temperature:
            self.film = nn.ModuleList(nn.Linear(2, 2 * b) for b in widths[1:])
            for lin in self.film:
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)

    def _film(self, kT: torch.Tensor | None) -> list | None:
        """Per layer the FiLM (scale, shift), each ``(B, 1, 1, c_{l+1})``, of temperatures ``kT: (B,)``."""
        if not self.temperature:
            return None
        u = torch.log10(kT / 0.1)
        tau = torch.stack([u, u * u], dim=-1)  # (B, 2)
        return [tuple(t[:, None, None, :] for t in lin(tau).chunk(2, dim=-1)) for lin in self.film]

    @property
    def layer_widths(self) -> tuple[int, ...]:
        """The layers' widths: ``channels``, ending in 2 (levels, widths) for the occupation head."""
        return self.channels[:-1] + ((2,) if self.head == "occupation" else (1,))

    @property
    def receptive_field(self) -> int:
        """Nearest-neighbour hops that F_i depends on: one per layer."""
        return len(self.channels) - 1

    def forward_macs_per_site(self) -> int:
        """Multiply-adds per site of one forward pass (see :func:`~.cost.macs_per_site`)."""
        c = self.layer_widths
        film = sum(c[1:]) if self.temperature else 0  # h (1 + s) + b: one multiply-add per channel
        return sum(2 * a * b + 4 * b for a, b in zip(c[:-1], c[1:])) + film

    def stencil_forward(self, x: torch.Tensor, film: list | None = None) -> torch.Tensor:
        """The layers on the stencil backend, untiled and before the read-out: ``(B, l, l)`` ->
        ``(B, l, l, c_n)``. Site-local within ``len(self.self_convs)`` hops (what :func:`tiled` cuts up);
        ``film``: :meth:`_film` of a temperature-aware model; where the whole batch has one kT (a
        quench) it is folded into the layer's weights, so the step costs what the T-blind model's does."""
        n = len(self.self_convs)
        mean = nn_mean
        if self.lattice == "honeycomb":  # (B, L, L, 2, c): FiLM (B, 1, 1, c) -> (B, 1, 1, 1, c)
            mean = nn_mean_honeycomb
            film = film if film is None else [tuple(t[..., None, :] for t in f) for f in film]
        h = x.unsqueeze(-1)  # (B, l, l, 1), honeycomb (B, L, L, 2, 1)
        for k, (cs, cn) in enumerate(zip(self.self_convs, self.nb_convs)):
            W_s, W_n, b = cs.lin.weight, cn.lin.weight, cs.bias
            scale = shift = None
            if film is not None:
                scale, shift = (t.reshape(t.shape[0], -1) for t in film[k])  # (B, c_{k+1})
                if bool((scale == scale[:1]).all() and (shift == shift[:1]).all()):  # one kT: fold FiLM in
                    s1 = 1 + scale[0]  # (W h + b)(1 + s) + c = (1 + s) W h + ((1 + s) b + c)
                    W_s, W_n, b = s1[:, None] * W_s, s1[:, None] * W_n, s1 * b + shift[0]
                    scale = None
            h = fused_layer(h, W_s, W_n, b, mean)  # (B, l, l, c_{k+1})
            if scale is not None:  # a batch of several temperatures
                h = h * (1 + film[k][0]) + film[k][1]
            if k < n - 1:
                h = torch.relu(h)
        return h

    def predict(self, x: torch.Tensor, kT: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised forces of normalised fields: ``(B, L, L)`` -> ``(B, L, L)``; ``kT: (B,)`` for a
        temperature-aware model."""
        B, L, lattice = x.shape[0], x.shape[1], self.lattice
        n = len(self.self_convs)
        film = self._film(self._kT(kT, x) if self.temperature else None)
        if self.backend == "pyg":
            self_e, nn_e = batched_graph(L, B, x.device, lattice)
            N = x[0].numel()
            h = x.reshape(B * N, 1)  # (B*N, 1), node b*N + the lattice's flat index
            for k, (cs, cn) in enumerate(zip(self.self_convs, self.nb_convs)):
                h = cs(h, self_e) + cn(h, nn_e)  # (B*N, c_{k+1})
                if film is not None:
                    c = h.shape[-1]
                    h = (h.reshape(B, N, c) * (1 + film[k][0][:, 0]) + film[k][1][:, 0]).reshape(B * N, c)
                if k < n - 1:
                    h = torch.relu(h)
        elif lattice == "honeycomb":  # untiled: (B, L, L, 2, c_n)
            h = self.stencil_forward(x, film)
        else:
            h = tiled(lambda xx: self.stencil_forward(xx, film), x, n)  # (B, L, L, c_n)
        h = h.reshape(*x.shape, -1)  # (B, L, L[, 2], 1) forces or (..., 2) levels, widths
        return h[..., 0] if self.readout is None else self.readout(h, self.q_scale, self.f_scale,
                                                                   self._kT(kT, x) if self.temperature else None)
