"""holstein: ED and machine-learned force fields for the semiclassical Holstein model.

Module map, the one in the repository (each arrow: "may import"; nothing imports against them, no
cycles; ``tests/test_architecture.py`` checks the rules):

    params, lattice ─> forces, filling ─> ed, kpm                         (physics)
    params, lattice ─> dynamics/ (State, init/step, run: a force comes in as a function)
    params, lattice ─> observables ─> criticality (Binder cumulant, T_c)
    lattice, descriptors, forces, filling ─> models/ (registry, GCN, occupation read-out, checkpoints)
    models, ed, kpm, catalog ─> force (the Force value: fn, id, what it is valid for; load_force)
    dynamics, observables ─> quench/ (the one engine: start, recorder, store, engine, analysis)
    quench, ed ─> data (ED datasets)  ─> train (recipes of hyper-parameters, the loop, force_metrics)
    catalog (paths and verifying readers of committed results) ─> recipes (load-or-make; reads profiles)
    quench, force ─> ensemble (Dask sweeps), cluster (schedulers, SLURM)
    bench/ (one timer, one machine record, every benchmark, transfer check)   cli/   notebook   plotting*

- ``params``: HolsteinParams (validated), the PAPER preset, the hot-start widths.
- ``lattice``: SquareLattice (neighbours, 8 shells, stagger), D4/translations, ``as_field``.
- ``forces``: elastic force and energy, ``from_density`` (the one F = g(n − ½) + elastic).
- ``filling``: ``bisect_mu`` and ``newton_mu``, the one root finder for μ at fixed filling.
- ``ed``, ``kpm``: exact diagonalisation (with a memory budget) and the kernel polynomial method.
- ``dynamics/``: ``integrators`` (State, seeds, hot start, init/step) and ``driver`` (run; Ctrl-C
  hands the state back); time is always step · dt.
- ``observables``: φ_i, m, S(q), C(r), L(t), ``fit_power_law``, scaling collapse.
- ``criticality``: the Binder cumulant and the crossing of two sizes, with jackknife errors.
- ``descriptors``, ``models/``: D4 descriptors; registry, message passing, occupation read-out
  (kT as the Fermi width), BP-MLP / GCN / energy GNN and lean variants, ``gcn_lean_mu_T``
  (temperature as an input), ``checkpoint`` (reading one), ``cost.macs_per_site``.
- ``force``: ``load_force(spec, p, precision)`` -> Force, refused where it is not valid.
- ``quench/``: every quench (simulate, coarsen, sweep tasks, datasets, notebooks, benchmarks);
  α(T) with jackknife errors, collapse, paired ED-vs-ML tests.
- ``data``: ED datasets (format 2: F derived, sha256 over arrays and metadata).
- ``train``: training recipes, the loop (across lattice sizes and temperatures), ``force_metrics``.
- ``catalog``: where every committed result lives, and readers that verify it (never make it).
- ``recipes``: the one load-or-make of datasets, models and runs at a profile; ``profiles``: sizes.
- ``ensemble``, ``cluster``: quench runs as Dask tasks; LocalCluster, scheduler files, SLURM.
- ``bench/``: timing and the machine record, speed, ED and KPM benchmarks, the ML-vs-KPM transfer check.
- ``files``: atomic writes, output checks; ``coarsening``: snapshots of a run for the transfer check.
- ``notebook``, ``plotting``, ``plotting_models``, ``plotting_kT``, ``animation``, ``cli``:
  presentation and the command line.
"""
from . import dynamics, ed, forces, kpm, lattice, observables, profiles
from .force import Force, load_force
from .lattice import SquareLattice
from .params import PAPER, HolsteinParams
from .profiles import get_profile

__version__ = "0.1.0"
__all__ = ["HolsteinParams", "PAPER", "Force", "load_force", "SquareLattice", "dynamics", "ed", "forces", "kpm",
           "lattice", "observables", "profiles", "get_profile", "__version__"]
