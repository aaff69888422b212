"""The one quench engine: :mod:`.start` (seeds -> the initial state), :mod:`.recorder` (what a run
keeps), :mod:`.store` (identity, files, verified reads, merge), :mod:`.engine` (:func:`run`, every
quench of the package) and :mod:`.analysis` (α(T), collapse, paired ED-vs-ML tests).
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
