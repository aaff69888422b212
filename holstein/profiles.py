"""Work sizes of the three profiles, chosen by ``$HOLSTEIN_PROFILE`` (:func:`get_profile`): ``ci``
(seconds per notebook, the test suite), ``book`` (the rendered book on a 2-core CPU), ``paper`` (the
reference work's sizes, for a GPU).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

__all__ = ["Profile", "PROFILES", "get_profile", "ENV_VAR"]

ENV_VAR = "HOLSTEIN_PROFILE"


@dataclass(frozen=True)
class Profile:
    """Sizes of one profile (lattices L, step counts, snapshot counts, epochs)."""

    name: str
    L_ed: int                  # lattice of ED quenches and of the training data
    n_random: int              # hot random snapshots in the dataset
    n_quench: int              # quench snapshots in the dataset
    quench_runs: int           # independent ED quench trajectories the quench snapshots come from
    quench_every: int          # Langevin steps between recorded quench snapshots
    ed_quench_steps: int       # length of chapter 2's live ED quench and of chapter 5's NVE runs
    epochs: int                # training epochs for the lean models
    epochs_reference: int      # training epochs for the (huge) reference models
    L_large: int               # lattice of the large-scale ML quench (chapter 8)
    large_steps: int           # Langevin steps of the large quench
    large_every: int           # steps between recorded snapshots of the large quench
    large_replicas: int = 2    # replicas per temperature of the large quench
    large_committed: bool = True  # chapter 8 shows the committed 200x200 experiment if present (else runs its own)
    fresh_replicas: int = 2    # chapter 7: ED and ML quenches from hot starts no dataset used (paired replicas)
    fresh_steps: int = 200     # their length in steps (the reference work compares steps 1000 and 9000)
    fresh_every: int = 20      # steps between their recorded observables
    fresh_compare: tuple = (100, 200)  # the steps at which chapter 7 compares C(r)
    fresh_seed: int = 100000   # first replica seed: disjoint from every dataset's quench seeds (1-4, 1001-1012)
    fresh_committed: bool = False  # chapter 7 loads the committed runs (artifacts/ed_vs_ml) if present
    reference_max_train: int | None = None  # training snapshots for the huge reference models (None: all)
    reference_committed: bool = False  # chapters 3-6 show the committed reference runs (artifacts/reference) if present
    temperatures: tuple = (0.05, 0.1, 0.15)  # quench temperatures for the growth exponent
    bench_L: tuple = (12, 16, 24)            # lattices for the ED cost benchmark
    transfer_L: int = 16       # lattice of the ML-vs-KPM force check on a large quench (chapter 9)
    transfer_steps: int = 40   # Langevin steps of that quench
    transfer_every: int = 20   # steps between checked snapshots
    sweep_model: str | None = "ed"  # force of the Dask temperature sweep (chapter 10); None: the best committed model
    sweep_L: int = 8           # lattice of the sweep's quenches
    sweep_steps: int = 100     # Langevin steps of each quench
    sweep_every: int = 10      # steps between recorded times
    sweep_replicas: int = 2    # replicas per temperature (one task each)
    explore_g: tuple = (0.75, 3.5)    # couplings of chapter 1's precomputed DOS movie (its static explorer)
    explore_kT: tuple = (0.05, 0.4)   # temperatures of that movie (one frame per (g, kT))

    def replace(self, **changes) -> "Profile":
        return dataclasses.replace(self, **changes)


PROFILES = {
    "ci": Profile("ci", L_ed=8, n_random=6, n_quench=8, quench_runs=2, quench_every=20,
                  ed_quench_steps=200, epochs=2, epochs_reference=1, L_large=16, large_steps=200,
                  large_every=50, bench_L=(8, 12)),
    "book": Profile("book", L_ed=24, n_random=120, n_quench=240, quench_runs=4, quench_every=40,
                    ed_quench_steps=2000, epochs=30, epochs_reference=1, reference_max_train=48, L_large=64,
                    large_steps=4000, large_every=400, bench_L=(8, 12, 16, 24, 32),
                    transfer_L=64, transfer_steps=2000, transfer_every=500, sweep_model=None, sweep_L=32,
                    sweep_steps=2400, sweep_every=120, sweep_replicas=4,
                    explore_g=(0.75, 1.0, 3.5), explore_kT=(0.05, 0.2, 0.4, 0.6, 0.8),
                    fresh_replicas=25, fresh_steps=9000, fresh_every=100, fresh_compare=(1000, 9000),
                    fresh_committed=True, reference_committed=True),
    "paper": Profile("paper", L_ed=40, n_random=200, n_quench=400, quench_runs=4, quench_every=50,
                     ed_quench_steps=4000, epochs=200, epochs_reference=100, L_large=200,
                     large_steps=25000, large_every=100, large_replicas=4, large_committed=False,
                     bench_L=(12, 16, 24, 32, 40, 48),
                     transfer_L=200, transfer_steps=4000, transfer_every=1000, sweep_model=None, sweep_L=200,
                     sweep_steps=25000, sweep_every=100, sweep_replicas=8,
                     explore_g=(0.75, 1.0, 3.5), explore_kT=(0.05, 0.2, 0.4, 0.6, 0.8),
                     fresh_replicas=8, fresh_steps=9000, fresh_every=100, fresh_compare=(1000, 9000)),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile named ``name``, else ``$HOLSTEIN_PROFILE``, else ``ci``."""
    name = name or os.environ.get(ENV_VAR, "ci")
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r} (from {ENV_VAR}); choose one of {sorted(PROFILES)}") from None
