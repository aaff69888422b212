r"""The run store: a run's identity, its files and their verified reads, and the merge of runs.

A run is B replicas (or one unbatched replica) of one force at one kT. Its *identity* is all its
numbers depend on except the length: ``format``, ``force`` (the fingerprint), ``L``, ``kT``,
``seeds`` (a list; an int for an unbatched run), ``every``, ``scheme``, ``params`` and the
recorder's settings. For ``path = <stem>.npz``:

* ``<stem>.npz`` — the result: ``identity`` (sorted JSON), ``command``, ``complete`` (False after
  a blow-up), ``wall_s``, ``time`` (= step · dt), ``force`` and the arrays of
  :meth:`holstein.quench.recorder.Recorder.result`; a merged run adds ``part_commands``;
* ``<stem>.state.pt`` — the final Q, V, time, step and generator states, to extend the run;
* ``<stem>.ckpt`` — while running: ``dict(version, identity, state, acc)``, resumed bit for bit.

A file that is not readable, not of this format or of another identity is a one-line
``ValueError`` naming the file (and the field that differs).
"""
from __future__ import annotations

import functools
import io
import json
import pickle
import zipfile
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..files import atomic_write
from .recorder import PER_TIME
from .start import seed_list

__all__ = ["FORMAT", "identity", "files", "run_path", "load", "save", "difference", "read_checkpoint",
           "write_checkpoint", "read_state", "write_state", "merge"]

FORMAT = 1
_CKPT_VERSION = 1
_BROKEN = (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, RuntimeError, pickle.UnpicklingError,
           json.JSONDecodeError, io.UnsupportedOperation, AttributeError, TypeError, IndexError)


def identity(force_id: str, L: int, seeds, every: int, scheme: str, p, settings: dict) -> dict:
    """The identity of a run (module docstring); ``p`` holds kT, ``settings`` the recorder's."""
    seeds = int(seeds) if isinstance(seeds, (int, np.integer)) else seed_list(seeds)
    return dict(format=FORMAT, force=str(force_id), L=int(L), kT=float(p.kT), seeds=seeds, every=int(every),
                scheme=scheme, params=p.to_dict(), **settings)


def files(path) -> tuple[Path, Path, Path]:
    """(result, final state, checkpoint) of the run at ``path`` (``<stem>`` or ``<stem>.npz``)."""
    path = Path(path)
    stem = path.name[:-4] if path.name.endswith(".npz") else path.name
    return tuple(path.with_name(stem + s) for s in (".npz", ".state.pt", ".ckpt"))


def run_path(out, kT: float, suffix: str = ".npz") -> Path:
    """``<out>/kT<kT><suffix>``, the run of one temperature in a folder of runs (not with
    ``Path.with_suffix``, which reads the ".1" of "kT0.1" as a suffix)."""
    return Path(out) / f"kT{float(kT):g}{suffix}"


def _short(v, n: int = 70) -> str:
    s = json.dumps(v, sort_keys=True) if not isinstance(v, str) else v
    return s if len(s) <= n else s[:n - 1] + "…"


def difference(there: dict, here: dict) -> str | None:
    """The fields in which two identities differ, in one short line (None when they are equal)."""
    keys = [k for k in dict.fromkeys([*here, *there]) if there.get(k) != here.get(k)]
    if not keys:
        return None
    parts = []
    for k in keys:
        a, b = there.get(k), here.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            sub = [j for j in dict.fromkeys([*b, *a]) if a.get(j) != b.get(j)]
            parts += [f"{k}.{j}: {_short(a.get(j))} there, {_short(b.get(j))} here" for j in sub]
        else:
            parts.append(f"{k}: {_short(a)} there, {_short(b)} here")
    return "; ".join(parts[:3]) + (f"; and {len(parts) - 3} more" if len(parts) > 3 else "")


def _same(where, there: dict, expect: dict | None) -> None:
    why = None if expect is None else difference(there, expect)
    if why:
        raise ValueError(f"{where} belongs to another run ({why}); move it away or choose another output")


def load(path, expect: dict | None = None) -> tuple[dict, dict]:
    """(identity, result arrays) of the run at ``path``, verified (of identity ``expect`` when given);
    ``time`` = ``step`` · dt is added."""
    path = files(path)[0]
    if not path.exists():
        raise FileNotFoundError(f"no run result at {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            names = z.files
            res = {k: z[k] for k in names if k not in ("identity", "command", "force")}
            ident = json.loads(str(z["identity"])) if "identity" in names else None
            res["command"] = str(z["command"]) if "command" in names else ""
    except _BROKEN as e:
        raise ValueError(f"{path} is not a readable quench result ({type(e).__name__}: {e}); delete it") from None
    if ident is None:
        raise ValueError(f"{path} is not a quench result (no identity); refusing to use or replace it")
    if not isinstance(ident, dict) or ident.get("format") != FORMAT:
        got = ident.get("format") if isinstance(ident, dict) else ident
        raise ValueError(f"{path} is a quench result of another format ({got!r}); this package "
                         f"reads format {FORMAT}")
    _same(path, ident, expect)
    res["time"] = res["step"] * ident["params"]["dt"]
    res.setdefault("complete", np.bool_(True))
    return ident, res


def save(path, ident: dict, command: str, res: dict) -> Path:
    """Write a result atomically (module docstring), ``time`` = step · dt for readers using ``np.load``."""
    arrays = {k: v for k, v in res.items() if k not in ("time", "command")}
    arrays["time"] = np.asarray(res["step"]) * ident["params"]["dt"]
    arrays["force"] = np.array(ident["force"])  # the fingerprint, readable without parsing the identity
    return atomic_write(files(path)[0], lambda fh: np.savez_compressed(
        fh, identity=np.array(json.dumps(ident, sort_keys=True)), command=np.array(command), **arrays))


def _torch_read(path, what: str, weights_only: bool):
    try:
        return torch.load(path, map_location="cpu", weights_only=weights_only)  # our own files, any device's
    except _BROKEN as e:
        raise ValueError(f"{path} is not a readable {what} ({type(e).__name__}: {str(e)[:80]}); delete it "
                         "(the run restarts from its last complete file)") from None


def write_checkpoint(path, ident: dict, state, acc: dict) -> None:
    d = {k: v.cpu() if isinstance(v, torch.Tensor) else v for k, v in state.to_dict().items()}  # portable
    payload = dict(version=_CKPT_VERSION, identity=json.dumps(ident, sort_keys=True), state=d, acc=acc)
    atomic_write(files(path)[2], lambda fh: torch.save(payload, fh))


def read_checkpoint(path, expect: dict | None = None) -> tuple[dict, dict]:
    """(state dict, records) of the checkpoint of the run at ``path``, verified as :func:`load`."""
    ckpt = files(path)[2]
    ck = _torch_read(ckpt, "run checkpoint", weights_only=False)
    if isinstance(ck, dict) and "version" not in ck and {"identity", "state", "acc"} <= set(ck):
        ck = dict(ck, version=_CKPT_VERSION, acc=dict(ck["acc"], Q=[]))  # a holstein.experiment run's (87f4f47)
    if not isinstance(ck, dict) or ck.get("version") != _CKPT_VERSION or "acc" not in ck:
        raise ValueError(f"{ckpt} is not a run checkpoint of this version; delete it")
    _same(ckpt, json.loads(ck["identity"]), expect)
    return ck["state"], ck["acc"]


def write_state(path, state) -> None:
    d = state.to_dict()
    atomic_write(files(path)[1], lambda fh: torch.save(dict(Q=d["Q"].cpu(), V=d["V"].cpu(), time=d["time"],
                                                            step=d["step"], rng=d["rng"]), fh))


def read_state(path) -> dict:
    """The final state (without F) of the finished run at ``path``, to extend it."""
    res, state, _ = files(path)
    if not state.exists():
        with np.load(res) as z:
            merged = "part_commands" in z.files
        why = ("a merged run never has one: run more steps of its parts, or more replicas with other seeds, and merge "
               "again" if merged else "a snapshot run keeps none: start it over with "
               "all the steps (simulate --fresh)")
        raise ValueError(f"{res} cannot be extended: it has no final state {state.name} ({why})")
    d = _torch_read(state, "final state", weights_only=True)
    if not isinstance(d, dict) or not {"Q", "V", "rng", "step", "time"} <= set(d):
        raise ValueError(f"{state} is not a final state of a run; delete it and rerun the run")
    return d


def merge(runs: Sequence[tuple], path=None, command: str = "") -> tuple[dict, dict]:
    """One run of the replicas of several :func:`load` results ``(identity, result)`` of one identity up to
    the seeds (disjoint: shared seeds are refused). The per-time observables are concatenated along
    the replica axis over the steps every run recorded; the φ maps are the first run's, ``wall_s`` the
    sum, ``part_commands`` each run's command. Written to ``path`` when given (not extendable)."""
    if len(runs) < 2:
        raise ValueError(f"merge needs at least two runs, got {len(runs)}")
    (i0, r0) = runs[0]
    for ident, _ in runs[1:]:
        why = difference(*({k: v for k, v in i.items() if k not in ("seeds", "phi_replicas")} for i in (ident, i0)))
        if why:
            raise ValueError(f"runs differ ({why}); only runs of one experiment merge")
    seeds = [s for ident, _ in runs for s in seed_list(ident["seeds"])]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"runs share seeds ({sorted(s for s in set(seeds) if seeds.count(s) > 1)}): a replica "
                         "would count twice")
    steps = functools.reduce(np.intersect1d, [res["step"] for _, res in runs])
    if steps.size == 0:
        raise ValueError("the runs have no recorded step in common")
    pick = [np.searchsorted(res["step"], steps) for _, res in runs]
    out = {k: r0[k] for k in ("r", "k", "L_sys", "phi_step", "phi")}
    for k in PER_TIME:
        out[k] = np.concatenate([np.asarray(res[k])[ix] for (_, res), ix in zip(runs, pick)], axis=1)
    out.update(step=steps.astype(np.int64), wall_s=np.float64(sum(float(res.get("wall_s", 0.0)) for _, res in runs)),
               complete=np.bool_(all(bool(res.get("complete", True)) for _, res in runs)),
               part_commands=np.array([str(res.get("command", "")) for _, res in runs]))
    ident = dict(i0, seeds=seeds)
    if path is not None:
        save(path, ident, command, out)
        return load(path)
    out.update(command=command, time=steps * i0["params"]["dt"])
    return ident, out
