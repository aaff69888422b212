r"""The reference approach to ML Langevin dynamics, reproduced for timing.

Fan & Chern's GNN force field (``cherngroupUVA/GNN_Holstein``, ``code/dynamics/simulation_script.py``)
advances the lattice like this, and so does this file:

- **setup**: the neighbour table and the PyG edge lists, self edges (2, N) and nearest-neighbour
  edges (2, 4N), built site by site in Python loops;
- **force**: the flat numpy ``Q`` (N,) is copied every step into a float64 tensor (N, 1) and fed
  with autograd on to the float64 GCN of 10,753,793 parameters, channels
  1-128-512-1024-2048-1024-512-128-1, each layer

      h' = ReLU( GCNConv_self(h, edge_index_center) + GCNConv_nb(h, edge_index_neighbor) )

  (no ReLU after the last; the self convolution with bias, W_s h_i + b; the neighbour one
  normalised, without bias: the neighbour mean); the output goes back to numpy and the
  occupations n_i = (F_i - F^el_i)/g + 1/2 are computed from it;
- **integrator**: velocity Verlet and an exact Ornstein–Uhlenbeck step in per-site loops:

      Q_i += V_i dt + (F_i / 2m) dt²;   F <- F(Q);   V_i += (F_i^old + F_i) dt / 2m;
      V_i <- a V_i + b sqrt(kT) ξ_i,   a = e^{-γ dt},  b = sqrt((1 - a²)/m),

  the update of ``holstein.dynamics.step(..., scheme="vv_ou")`` (tested to agree to rounding).

Differences that do not change the cost: the flat index is i = x*L + y (the reference's y*L + x
gives the same field, the model being D4 symmetric), the neighbour table is computed (not read
from a CSV), the noise is a seeded ``RandomState``, nothing is written. ``python -m
holstein.bench.reference --L 200`` prints the time of one step.
"""
from __future__ import annotations

import argparse
import math
from types import SimpleNamespace

import numpy as np
import torch

from .timing import measure, stopwatch

#: Widths of the reference GCN.
REFERENCE_CHANNELS = (1, 128, 512, 1024, 2048, 1024, 512, 128, 1)
#: The reference script's parameters (identical to ``holstein.params.PAPER``).
REFERENCE_PARAMS = SimpleNamespace(t=1.0, g=3.5, k=1.0, kappa=0.18, mass=5.0, gamma=0.2, kT=0.1, dt=0.05)


# ----------------------------------------------------------------------------- graph (Python loops)
def neighbour_table(L: int) -> list[list[int]]:
    """``[i, right, left, up, down]`` for every site i = x*L + y of the periodic L×L lattice (a loop)."""
    table = []
    for x in range(L):
        for y in range(L):
            table.append([x * L + y, ((x + 1) % L) * L + y, ((x - 1) % L) * L + y,
                          x * L + (y + 1) % L, x * L + (y - 1) % L])
    return table


def find_edges(table: list[list[int]], device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """The reference's two edge lists, filled site by site: self edges (2, N), nn edges (2, 4N)."""
    center = [[], []]
    neighbor = [[], []]
    for row in table:
        i = row[0]
        center[0].append(i)
        center[1].append(i)
        for j in row[1:]:
            neighbor[0].append(i)
            neighbor[1].append(j)
    return (torch.tensor(center, dtype=torch.long, device=device),
            torch.tensor(neighbor, dtype=torch.long, device=device))


# ----------------------------------------------------------------------------- the network
class ReferenceGCN(torch.nn.Module):
    """The reference GCN: per layer ``GCNConv`` on self edges (bias) + normalised ``GCNConv`` on
    the nn edges (no bias), ReLU between layers. 10,753,793 parameters for the default channels."""

    def __init__(self, channels=REFERENCE_CHANNELS):
        from torch_geometric.nn import GCNConv

        super().__init__()
        pairs = list(zip(channels[:-1], channels[1:]))
        self.convs = torch.nn.ModuleList(GCNConv(a, b, add_self_loops=False, normalize=True, bias=True)
                                         for a, b in pairs)
        self.convs_2 = torch.nn.ModuleList(GCNConv(a, b, add_self_loops=False, normalize=True, bias=False)
                                           for a, b in pairs)

    def forward(self, x, edge_index_center, edge_index_neighbor):  # x: (N, 1) -> (N, 1)
        n = len(self.convs)
        for k, (c1, c2) in enumerate(zip(self.convs, self.convs_2)):
            x = c1(x, edge_index_center) + c2(x, edge_index_neighbor)
            if k < n - 1:
                x = torch.relu(x)
        return x

    def load_from(self, gcn) -> "ReferenceGCN":
        """Copy the weights of a ``holstein.models`` GCN (``self_convs``/``nb_convs``, same widths,
        q_scale = f_scale = 1, target "total") so that both compute the same force field."""
        self.convs.load_state_dict(gcn.self_convs.state_dict())
        self.convs_2.load_state_dict(gcn.nb_convs.state_dict())
        return self


# ----------------------------------------------------------------------------- the dynamics
class ReferenceDynamics:
    """The reference ``holstein_dynamics`` class: numpy state (flat Q0, V0 (N,), i = x*L + y), per-site
    loops, the float64 GCN ``net`` called with autograd on unless ``grad=False``; ``p`` has g, k,
    kappa, mass, gamma, kT, dt; ``seed`` seeds the noise's ``RandomState``."""

    def __init__(self, net, L: int, Q0, V0, p=REFERENCE_PARAMS, seed: int = 0, grad: bool = True,
                 device="cpu"):
        self.net, self.L, self.N, self.p, self.grad, self.device = net, L, L * L, p, grad, device
        self.edge_index_center, self.edge_index_neighbor = find_edges(neighbour_table(L), device)
        self.a_x = math.exp(-p.gamma * p.dt)
        self.b_x = math.sqrt((1.0 - self.a_x ** 2) / p.mass)
        self.rng = np.random.RandomState(seed)
        self.Q = np.array(Q0, dtype=np.float64).reshape(-1)
        self.velocity = np.array(V0, dtype=np.float64).reshape(-1)
        self.force = self.calc_force(self.Q)
        self.occ = self.calc_occ(self.Q)

    def calc_force(self, Q) -> np.ndarray:
        Q_tensor = torch.tensor(Q, dtype=torch.float64).view(-1, 1).to(self.device)  # node features (N, 1)
        with torch.set_grad_enabled(self.grad):
            force = self.net(Q_tensor, self.edge_index_center, self.edge_index_neighbor).reshape(-1)
        return force.cpu().detach().numpy()

    def calc_force_classical(self, Q) -> np.ndarray:
        """Elastic force -k Q_i - κ Σ_nn Q_j (numpy rolls, as in the reference)."""
        Q2 = Q.reshape(self.L, self.L)
        nn_sum = np.roll(Q2, 1, 0) + np.roll(Q2, -1, 0) + np.roll(Q2, 1, 1) + np.roll(Q2, -1, 1)
        return (-self.p.k * Q2 - self.p.kappa * nn_sum).reshape(-1)

    def calc_occ(self, Q) -> np.ndarray:
        return (self.force - self.calc_force_classical(Q)) / self.p.g + 0.5

    def step(self, noise=None) -> None:
        """One step dt, in place. ``noise``: optional (N,) standard normals to use instead of the
        RandomState draws (for comparing with another implementation)."""
        p = self.p
        for i in range(self.N):
            self.Q[i] += self.velocity[i] * p.dt + 0.5 * (self.force[i] / p.mass) * p.dt * p.dt
        force_prev = self.force
        self.force = self.calc_force(self.Q)
        self.occ = self.calc_occ(self.Q)
        for i in range(self.N):
            self.velocity[i] += 0.5 * p.dt * (self.force[i] + force_prev[i]) / p.mass
        for i in range(self.N):
            xi = self.rng.randn() if noise is None else noise[i]
            self.velocity[i] = self.a_x * self.velocity[i] + self.b_x * math.sqrt(p.kT) * xi


def setup(L: int, p=REFERENCE_PARAMS, channels=REFERENCE_CHANNELS, seed: int = 0, grad: bool = True,
          device="cpu", net=None) -> ReferenceDynamics:
    """A ready :class:`ReferenceDynamics` on an L×L lattice: an untrained float64 GCN (or ``net``),
    Q ~ (g/k) N(0, 1), V ~ sqrt(kT/m) N(0, 1) from ``seed`` (the cost does not depend on them)."""
    torch.manual_seed(seed)
    if net is None:
        net = ReferenceGCN(channels)
    net = net.to(device=device, dtype=torch.float64).eval()
    rng = np.random.RandomState(seed)
    Q0 = (p.g / p.k) * rng.randn(L * L)
    V0 = math.sqrt(p.kT / p.mass) * rng.randn(L * L)
    return ReferenceDynamics(net, L, Q0, V0, p=p, seed=seed + 1, grad=grad, device=device)


def time_step(L: int, repeats: int = 2, warmup: int = 1, **kwargs) -> dict:
    """Wall time of one reference step on an L×L lattice (median and minimum of ``repeats`` after
    ``warmup`` untimed steps) and of the setup (network, edge lists, first force)."""
    device = str(kwargs.get("device", "cpu"))
    with stopwatch(device) as sw:
        dyn = setup(L, **kwargs)
    for _ in range(warmup):
        dyn.step()
    r = measure(dyn.step, repeats, device=device, warmup=False)
    n_par = sum(q.numel() for q in dyn.net.parameters())
    return dict(L=L, N=L * L, t_step_s=r["t_s"], t_step_min_s=r["t_min_s"], n=r["n"], t_setup_s=sw.seconds,
                site_steps_per_s=L * L / r["t_s"], parameters=n_par, grad=dyn.grad)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--L", type=int, default=40, help="lattice size (default 40)")
    ap.add_argument("--repeats", type=int, default=2, help="timed steps (default 2)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps first (default 1)")
    ap.add_argument("--no-grad", action="store_true", help="call the network under torch.no_grad")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    r = time_step(args.L, repeats=args.repeats, warmup=args.warmup, grad=not args.no_grad, device=args.device)
    print(f"reference GCN ({r['parameters']:,} parameters, float64, PyG, per-site loops), L={r['L']}: "
          f"setup {r['t_setup_s']:.2f} s, one step {r['t_step_s']:.3f} s "
          f"({r['site_steps_per_s']:.3g} site-steps/s; fastest of {r['n']}: {r['t_step_min_s']:.3f} s)")


if __name__ == "__main__":
    main()
