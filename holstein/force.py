r"""The Force value: a force field ``Q -> F`` with its fingerprint and what it is valid for.

Every command, sweep, notebook and benchmark gets its force from :func:`load_force`, which
resolves a *spec* once:

==========================  ==========================================================================
spec                        force
==========================  ==========================================================================
``"ed"``                    exact diagonalisation at the caller's parameters (:func:`holstein.ed.forces`)
``"kpm"``                   the kernel polynomial method at the caller's parameters (:mod:`holstein.kpm`)
a committed model name      ``holstein/artifacts/models/<name>/best.pt`` (or ``<name>_L24``) or
                            ``artifacts/L40/<name>/best.pt``; never trained, never generated
a ``.pt`` file, a folder    a checkpoint written by ``python -m holstein train`` (a folder: its ``best.pt``)
==========================  ==========================================================================

Validity. ED and KPM are valid for any parameters. A trained model is valid for the electronic
parameters it was trained with (t, g, k, κ; the bath's mass, γ and dt do not enter a force), on
its lattice, and for its training kT (a temperature-aware model: the closed ``kT_range`` of its
checkpoint). Anything else is a one-line ``ValueError`` saying what the force is valid for.

Fingerprints (the identity of every run that uses the force): ``"ed:<parameters as sorted JSON>"``,
``"kpm:<parameters>"``, ``"model:<registered name>:<first 16 hex of the sha256 of the weights file>"``,
plus ``":kT=<kT>"`` for a temperature-aware model and ``":float32"`` for a model evaluated in
float32 (input cast down, force cast back: the dynamics stay float64).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from .params import PAPER, HolsteinParams

__all__ = ["Force", "load_force", "resolve_checkpoint", "PHYSICS", "PRECISIONS"]

#: the parameters a force depends on (besides kT); the bath's mass, gamma and dt do not enter it
PHYSICS = ("t", "g", "k", "kappa")
PRECISIONS = ("float64", "float32")
_TOL = 1e-12


def _fmt(v: float) -> str:
    return f"{v:g}"


@dataclass(frozen=True)
class Force:
    """A force field and what it is valid for; call it as ``force(Q) -> F``.

    ``fn``: ``Q -> F`` on ``(L, L)`` or ``(B, L, L)`` torch fields (detached, Q's dtype); ``id``: the
    fingerprint; ``name``: what was asked for; ``params``: what it computes with; ``trained``, ``kT_range``:
    what it is valid for (None: any); ``model``: the network (None for ED and KPM). Its :attr:`lattice`
    is that of ``trained``, else of ``params``.
    """

    fn: Callable = field(repr=False)
    id: str
    name: str
    params: HolsteinParams
    trained: HolsteinParams | None = None
    kT_range: tuple | None = None
    dtype: torch.dtype = torch.float64
    device: str = "cpu"
    model: object = field(default=None, repr=False, compare=False)

    def __call__(self, Q):
        return self.fn(Q)

    @property
    def lattice(self) -> str:
        return (self.trained or self.params).lattice

    @property
    def temperature_aware(self) -> bool:
        return self.kT_range is not None and self.kT_range[0] < self.kT_range[1]

    def valid_for(self) -> str:
        """What the force is valid for, in words (one line)."""
        if self.trained is None:
            return f"{self.name}: any parameters on the {self.lattice} lattice"
        phys = ", ".join(f"{k}={_fmt(getattr(self.trained, k))}" for k in PHYSICS)
        lo, hi = self.kT_range
        temps = f"kT={_fmt(lo)}" if lo == hi else f"{_fmt(lo)} <= kT <= {_fmt(hi)}"
        return f"{self.name} is valid for {phys}, {temps} on the {self.lattice} lattice"

    def problem(self, p: HolsteinParams) -> str | None:
        """Why the force does not fit parameters ``p`` (lattice included; None when it does)."""
        if p.lattice != self.lattice:
            return f"the {p.lattice} lattice was asked for"
        if self.trained is None:
            return None
        bad = [f"{k}={_fmt(getattr(p, k))}" for k in PHYSICS if abs(getattr(p, k) - getattr(self.trained, k)) > _TOL]
        if bad:
            return f"{', '.join(bad)} was asked for"
        lo, hi = self.kT_range
        if not lo - _TOL <= p.kT <= hi + _TOL:
            return f"kT={_fmt(p.kT)} was asked for"
        return None

    def check(self, p: HolsteinParams) -> None:
        """Refuse (ValueError, one line) parameters or a lattice the force is not valid for."""
        why = self.problem(p)
        if why:
            raise ValueError(f"{self.valid_for()}; {why}")


def resolve_checkpoint(spec: str) -> Path:
    """The checkpoint of a model spec: a ``.pt`` file, a training run's folder (its ``best.pt``), a
    committed name (``gcn_lean_mu_L24_extra``) or a registered name committed at L = 24
    (``gcn_lean`` -> ``gcn_lean_L24``). A ValueError lists what is committed."""
    path = Path(spec)
    if path.is_dir():
        if not (path / "best.pt").exists():
            raise ValueError(f"{path} holds no best.pt (not a training run's folder)")
        return path / "best.pt"
    if path.is_file():
        return path
    if spec.endswith(".pt"):
        raise ValueError(f"no checkpoint at {spec}")
    from .catalog import committed_models

    known = committed_models()
    for name in (spec, f"{spec}_L24"):
        if name in known:
            return known[name]
    raise ValueError(f"unknown force {spec!r}: use 'ed', 'kpm', a .pt file, a training run's folder or a committed "
                     f"model ({', '.join(sorted(known))})")


def load_force(spec: str, p: HolsteinParams | None = None, precision: str | None = None, device: str = "cpu") -> Force:
    """The :class:`Force` of ``spec`` (module docstring) for parameters ``p``, refused where it is not valid.

    ``p`` defaults to the force's own: PAPER for ED and KPM, a model's training parameters (its lowest
    training kT). ``precision``: ``"float64"`` (default) or ``"float32"`` (models only).
    """
    precision = precision or "float64"
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"a force spec is a non-empty string ('ed', 'kpm', a model), got {spec!r}")
    if spec in ("ed", "kpm"):
        if precision != "float64":
            raise ValueError(f"{spec.upper()} forces are computed in float64 only")
        p = PAPER if p is None else p
        if spec == "ed":
            from . import ed

            fn, fid = (lambda Q: ed.forces(Q, p)), ed.force_id(p)
        else:
            from . import kpm

            fn, fid = (lambda Q: kpm.forces(Q, p)), "kpm:" + json.dumps(p.to_dict(), sort_keys=True)
        return Force(fn, fid, spec, p, device=str(device))
    return _model_force(spec, p, precision, device)


def _model_force(spec: str, p, precision: str, device) -> Force:
    from .models.checkpoint import load_checkpoint

    path = resolve_checkpoint(spec)
    net, ck = load_checkpoint(path, device=device)
    if "params" not in ck:
        raise ValueError(f"{path} does not record the parameters it was trained with; retrain it")
    trained = HolsteinParams(**ck["params"])
    kT_range = tuple(float(x) for x in ck.get("kT_range") or (trained.kT, trained.kT))
    p = trained.replace(kT=kT_range[0]) if p is None else p
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    fid = f"model:{ck['model']}:{digest}"
    dtype = torch.float32 if precision == "float32" else torch.float64
    net = net.to(dtype)
    aware = kT_range[0] < kT_range[1]
    if aware:
        fid += f":kT={p.kT!r}"
    if precision == "float32":
        fid += ":float32"
    base = net.as_force_fn(kT=p.kT) if aware else net.as_force_fn()
    name = spec if not Path(spec).exists() else str(path)
    force = Force(base, fid, name, p, trained=trained, kT_range=kT_range, dtype=dtype, device=str(device), model=net)
    force.check(p)
    return force
