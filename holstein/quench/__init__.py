"""The one quench engine: start, recorder, run store, and the analysis of runs.

- :mod:`.start`: seeds -> hot starts and noise streams -> the initial state;
- :mod:`.recorder`: what a run keeps, chosen by step (compact observables, Q snapshots, φ maps);
- :mod:`.store`: a run's identity, its files (result, final state, checkpoint), verified reads, merge;
- :mod:`.engine`: :func:`run`, which starts, resumes or extends a run and writes its files;
- :mod:`.analysis`: α(T) with a jackknife over replicas, collapse, paired ED-vs-ML tests.

Every quench of the package (``simulate``, ``coarsen``, the sweep's tasks, dataset generation,
the notebooks, the benchmarks) is a call of :func:`run` with a force from
:func:`holstein.force.load_force`.
"""
from .analysis import (analyse, jsonable, collapse_spread, default_window, ensemble_correlation, growth_exponent,
                       paired_differences, paired_test)
from .engine import run
from .recorder import Recorder, compact_observables, default_phi_steps
from .start import seed_list, start
from .store import files, identity, load, merge, run_path

__all__ = ["run", "jsonable", "start", "seed_list", "Recorder", "compact_observables", "default_phi_steps",
           "identity", "files", "run_path", "load", "merge", "analyse", "collapse_spread", "default_window",
           "ensemble_correlation", "growth_exponent", "paired_differences", "paired_test"]
