"""holstein: ED and machine-learned force fields for the semiclassical Holstein model.

Module map, the one in the repository (each arrow: "may import"; nothing imports against them, no
cycles; ``tests/test_architecture.py`` checks the rules):

    lattice/ ─> params ─> forces, filling ─> ed, kpm                                  (physics)
    lattice, params ─> dynamics/ (State, init/step, run: a force comes in as a function) ─> nve
    lattice ─> observables/ (φ, m, S(q), C(r), L(t) on either lattice; fits)   criticality (Binder, jackknife)
    lattice, descriptors, forces, filling ─> models/ (registry, message passing, read-outs, checkpoint)
    models, ed, kpm, catalog ─> force (the Force value: fn, id, what it is valid for; load_force)
    dynamics, observables, criticality ─> quench/ (start, recorder, store, engine, analysis)
    quench, force, ed ─> data (ED datasets) ─> train (recipes of hyper-parameters, the loop, force_metrics)
    catalog (paths and verifying readers of committed results) ─> recipes (load-or-make; reads profiles)
    quench, force, cluster (Dask schedulers, SLURM) ─> ensemble (Dask sweeps)
    bench/ (one timer, one machine record, every benchmark)    cli/    notebook    plotting*, animation

- ``lattice/``: square and honeycomb lattices (neighbours, shells, point group, stagger), ``as_field``;
  ``params``: HolsteinParams (validated, with its lattice), the PAPER preset.
- ``forces``: the elastic force and ``from_density`` (the one F = g(n − ½) + elastic); ``filling``:
  the one root finder for μ at fixed filling; ``ed``, ``kpm``: exact diagonalisation and the kernel
  polynomial method.
- ``dynamics/``: ``integrators`` (State, seeds, hot start, init/step) and ``driver`` (run; Ctrl-C
  hands the state back), time always step · dt; ``nve``: energy conservation at γ = 0.
- ``descriptors``, ``models/``: D4 descriptors; BP-MLP, GCN, energy GNN and their lean variants,
  the occupation read-out (kT as the Fermi width), ``checkpoint`` (reading one), ``cost``.
- ``quench/``: every quench (simulate, coarsen, sweep tasks, datasets, notebooks, benchmarks);
- ``files``: atomic writes, output checks; ``profiles``: the sizes of each profile.
"""
from . import dynamics, ed, forces, kpm, lattice, observables, profiles
from .force import Force, load_force
from .lattice import SquareLattice
from .params import PAPER, HolsteinParams
from .profiles import get_profile

__version__ = "0.1.0"
__all__ = ["HolsteinParams", "PAPER", "Force", "load_force", "SquareLattice", "dynamics", "ed", "forces", "kpm",
           "lattice", "observables", "profiles", "get_profile", "__version__"]
