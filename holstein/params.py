"""Model parameters of the semiclassical Holstein model.

Energies are in units of the hopping t (t = 1), time in units of 1/t, the lattice
displacement Q in units where the stiffness k multiplies Q^2/2.

    H = -t Σ_<ij> (c†_i c_j + h.c.) - g Σ_i (n_i - 1/2) Q_i
        + Σ_i P_i²/2m + (k/2) Σ_i Q_i² + κ Σ_<ij> Q_i Q_j

Langevin bath: friction γ, temperature kT, time step dt.
"""
from __future__ import annotations

import dataclasses
import numbers
import math
from dataclasses import dataclass

__all__ = ["HolsteinParams", "PAPER"]


@dataclass(frozen=True)
class HolsteinParams:
    """Parameters of the Holstein model and of its Langevin bath.

    Attributes:
        t: nearest-neighbour hopping (energy unit).
        g: electron–lattice coupling.
        k: on-site lattice stiffness.
        kappa: nearest-neighbour elastic coupling κ (stable for |κ| < k/4).
        mass: ion mass m (> 0).
        gamma: Langevin friction *rate* γ (>= 0; 0 is Newtonian, energy-conserving dynamics):
            m Q̈ = F - m γ Q̇ + η with ⟨η η⟩ = 2 m γ kT δ, as in the reference code whose exact
            Ornstein–Uhlenbeck step uses a = e^{-γ dt}, b = √((1 - a²) kT / m).
        kT: bath temperature (>= 0).
        dt: integration time step (> 0), in units of 1/t.
        lattice: "square" (fields ``(..., L, L)``, z = 4 neighbours) or "honeycomb" (fields
            ``(..., L, L, 2)``, z = 3): the graph the Hamiltonian lives on (:mod:`holstein.lattice`).
            Left out of :meth:`to_dict` when square, so fingerprints made before it existed stand.
    """

    t: float = 1.0
    g: float = 3.5
    k: float = 1.0
    kappa: float = 0.18
    mass: float = 5.0
    gamma: float = 0.2
    kT: float = 0.1
    dt: float = 0.05
    lattice: str = "square"

    def __post_init__(self) -> None:
        from .lattice import get

        if not isinstance(self.lattice, str):
            raise TypeError(f"HolsteinParams.lattice must be a lattice name, got {self.lattice!r}")
        z = get(self.lattice).z  # refuses an unknown lattice
        for f in dataclasses.fields(self):
            if f.name == "lattice":
                continue
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, numbers.Real):  # numpy scalars are Real
                raise TypeError(f"HolsteinParams.{f.name} must be a real number, got {v!r}")
            if not math.isfinite(v):
                raise ValueError(f"HolsteinParams.{f.name} must be finite, got {v!r}")
            object.__setattr__(self, f.name, float(v))
        if self.mass <= 0:
            raise ValueError(f"HolsteinParams.mass must be > 0, got {self.mass}")
        if self.dt <= 0:
            raise ValueError(f"HolsteinParams.dt must be > 0, got {self.dt}")
        if self.gamma < 0:
            raise ValueError(f"HolsteinParams.gamma must be >= 0, got {self.gamma}")
        if self.kT < 0:
            raise ValueError(f"HolsteinParams.kT must be >= 0, got {self.kT}")
        if self.k - z * abs(self.kappa) <= 0:
            raise ValueError(
                f"HolsteinParams.kappa: the lattice is unstable unless k > {z}|kappa| "
                f"(the phonon stiffness k + κ λ, λ >= -{z} an eigenvalue of the {self.lattice} lattice's "
                f"adjacency, must stay positive); got k={self.k}, kappa={self.kappa}"
            )

    def replace(self, **changes) -> "HolsteinParams":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        if d["lattice"] == "square":
            del d["lattice"]
        return d

    @property
    def hot_start_std(self) -> tuple[float, float]:
        """(σ_Q, σ_V) = (√(5/κ), √(5/m)): the reference code's hot start (standard deviations).

        The one definition of the hot start; it needs κ > 0 (a ValueError says so otherwise).
        """
        if self.kappa <= 0:
            raise ValueError(f"the hot start Q ~ N(0, sqrt(5/kappa)) needs kappa > 0 (got {self.kappa}); "
                             "pass q_std explicitly")
        return math.sqrt(5.0 / self.kappa), math.sqrt(5.0 / self.mass)


#: The preset of the reference work (Fan & Chern): quench to kT = 0.1.
PAPER = HolsteinParams()
