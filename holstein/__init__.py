"""holstein: ED and machine-learned force fields for the semiclassical Holstein model.

Module map (each arrow: "may import"; nothing imports against them, no cycles):

    params, lattice ─> forces ─> ed, kpm ─> data ─> train ─> artifacts ─> cli, bench/, transfer
    filling (μ at fixed filling) ─> ed, kpm, models/
    files (atomic writes)        ─> dynamics, data, train, bench/, cli
    lattice, descriptors, forces, filling ─> models/ ─> train
    params, lattice ─> dynamics/ ─> observables, coarsening (ensembles of quenches, α(T)) ─> experiment, ensemble
    profiles (sizes) ─> artifacts, notebook, cli;   plotting ─> observables only

- ``params``: HolsteinParams (validated), the PAPER preset, the hot-start widths.
- ``lattice``: SquareLattice (neighbours, 8 shells, stagger), D4/translations, ``as_field``.
- ``forces``: elastic force and energy, ``from_density`` (the one F = g(n − ½) + elastic).
- ``filling``: ``bisect_mu`` and ``newton_mu``, the one root finder for μ at fixed filling.
- ``ed``, ``kpm``: exact diagonalisation (with a memory budget) and the kernel polynomial method.
- ``dynamics/``: ``integrators`` (State, seeds, hot start, init/step) and ``driver`` (run,
  checkpoints that identify their run, resume, Ctrl-C); time is always step · dt.
- ``observables``: φ_i, m, S(q), C(r), L(t), ``fit_power_law``, scaling collapse.
- ``coarsening``: batched quench ensembles and their observables, α(T).
- ``experiment``: the large coarsening experiment (compact, resumable, extendable runs) and its
  analysis (α window and sensitivity, jackknife, collapse measure); ``python -m holstein coarsen``.
- ``data``: ED datasets (format 2: F derived, sha256 over arrays and metadata).
- ``descriptors``, ``models/``: D4 descriptors; registry, message passing, occupation read-out,
  BP-MLP / GCN / energy GNN and lean variants, ``ForceModel.as_force_fn``, ``cost.macs_per_site``.
- ``train``: recipes, the training loop, checkpoints, ``force_metrics``.
- ``artifacts``: paths of the committed results, load-or-make of datasets and models.
- ``bench/``: timing, speed, ED and KPM benchmarks (JSON); ``transfer``: ML vs KPM on large lattices.
- ``profiles``, ``notebook``, ``plotting``, ``cli``: sizes, notebook helpers, figures, the command line.
"""
from . import dynamics, ed, forces, kpm, lattice, observables, profiles
from .force import Force, load_force
from .lattice import SquareLattice
from .params import PAPER, HolsteinParams
from .profiles import get_profile

__version__ = "0.1.0"
__all__ = ["HolsteinParams", "PAPER", "Force", "load_force", "SquareLattice", "dynamics", "ed", "forces", "kpm", "lattice", "observables",
           "profiles", "get_profile", "__version__"]
