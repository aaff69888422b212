"""Langevin dynamics of the lattice displacements Q: ``init`` / ``step`` / ``run``.

- :mod:`.integrators`: the state, the seeds (one generator per replica), the reference hot
  start, and the pure ``init``/``step`` of velocity Verlet + exact Ornstein–Uhlenbeck ("vv_ou",
  the reference code) or BAOAB; the equations are in its docstring.
- :mod:`.driver`: ``run`` (recording, health checks, Ctrl-C as :class:`Interrupted` with the state);
  checkpoints and resumption are :mod:`holstein.quench`'s.

The force comes in as a function ``force_fn(Q) -> F``; this package knows no model and no ED.
Time is always ``step · dt``.
"""
from .driver import FIELDS, BlowUpError, Interrupted, Trajectory, run
from .integrators import (HOT_START_STREAM, NOISE_STREAM, SCHEMES, State, hot_start, init, matched_seeds,
                          replica_seeds, run_seed, step)

__all__ = ["State", "Trajectory", "BlowUpError", "SCHEMES", "FIELDS", "replica_seeds", "matched_seeds", "run_seed",
           "hot_start", "init", "step", "run", "Interrupted", "NOISE_STREAM",
           "HOT_START_STREAM"]
