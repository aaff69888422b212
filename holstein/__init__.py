"""holstein: ED and machine-learned force fields for the semiclassical Holstein model."""
from . import dynamics, ed, forces, kpm, lattice, observables, profiles
from .lattice import SquareLattice
from .params import PAPER, HolsteinParams
from .profiles import get_profile

__version__ = "0.1.0"
__all__ = ["HolsteinParams", "PAPER", "SquareLattice", "dynamics", "ed", "forces", "kpm", "lattice", "observables", "profiles", "get_profile",
           "__version__"]
