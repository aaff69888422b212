"""Argument types and shared options of the command line: sizes with their valid range, a checked
device, the physics options."""
from __future__ import annotations

import argparse

from ..params import PAPER

__all__ = ["int_at_least", "positive", "non_negative", "device", "params_from", "add_physics", "add_coupling",
           "add_threads", "set_threads", "add_overwrite", "COUPLING"]

#: the parameters every dynamics subcommand may change; kT is one value (``add_physics``) or a
#: list of temperatures (``sweep``, ``coarsen``), so it is not among them
COUPLING = ("g", "gamma", "dt")


def int_at_least(minimum: int):
    """argparse type: an integer >= ``minimum``, with the valid range in the error."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {v}")
        return v
    parse.__name__ = f"integer >= {minimum}"
    return parse


positive, non_negative = int_at_least(1), int_at_least(0)


def device(name: str) -> str:
    """argparse type: a torch device checked once (one line for an unknown device or a missing CUDA)."""
    import torch

    try:
        dev = torch.device(name)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"unknown device {name!r}; use cpu, or cuda where a GPU is present") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{name}: CUDA is not available on this machine; use --device cpu")
    if dev.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"{name}: only cpu and cuda are supported")
    return name


def params_from(args, keys=COUPLING + ("kT", "lattice")):
    """PAPER with the options ``keys`` that were given on the command line."""
    changes = {k: getattr(args, k) for k in keys if getattr(args, k, None) is not None}
    return PAPER.replace(**changes)


def add_coupling(sp):
    """The options of :data:`COUPLING`."""
    sp.add_argument("--g", type=float, help=f"coupling g (default {PAPER.g})")
    sp.add_argument("--gamma", type=float, help=f"Langevin friction (default {PAPER.gamma})")
    sp.add_argument("--dt", type=float, help=f"time step in 1/t (default {PAPER.dt})")


def add_lattice(sp):
    """``--lattice {square,honeycomb}``: the lattice of the Hamiltonian (``HolsteinParams.lattice``)."""
    sp.add_argument("--lattice", choices=("square", "honeycomb"),
                    help="lattice: square (L×L sites) or honeycomb (L×L cells of 2 sites); default square")


def add_physics(sp):
    add_coupling(sp)
    sp.add_argument("--kT", type=float, help=f"bath temperature (default {PAPER.kT})")
    sp.add_argument("--device", default="cpu", type=device, help="torch device, e.g. cpu or cuda")
    sp.add_argument("--seed", type=non_negative, default=0)


def add_threads(sp):
    """``--threads N``: torch's intra-op threads (``torch.set_num_threads``), as ``coarsen`` has."""
    sp.add_argument("--threads", type=positive, help="torch threads (default: torch's choice)")


def set_threads(args) -> None:
    """Apply ``--threads`` (if given) before any work."""
    if getattr(args, "threads", None):
        import torch

        torch.set_num_threads(args.threads)


def add_overwrite(sp):
    """``--overwrite``: let ``--out`` replace a file of another kind (:func:`holstein.files.check_replaceable`)."""
    sp.add_argument("--overwrite", action="store_true", help="replace an existing --out file that is not this "
                                                             "command's own output (refused otherwise)")
