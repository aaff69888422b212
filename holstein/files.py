"""Atomic file writes (a reader or a resumed run sees the old file or the new one, never half) and
the checks of an output path before any work: :func:`check_writable` and :func:`check_replaceable`
(``simulate --out`` cannot destroy an ED dataset).
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write", "write_json", "check_writable", "check_replaceable", "file_kind", "KINDS", "TRAJECTORY_KEYS"]

#: the kinds of output file :func:`file_kind` recognises, with the words a message uses for them
KINDS = {"dataset": "an ED dataset (from `generate`)", "trajectory": "a trajectory (from `simulate`)"}
#: the entries of a ``simulate`` trajectory (.npz)
TRAJECTORY_KEYS = frozenset({"Q", "time", "step", "complete", "force"})


def atomic_write(path, write: Callable) -> Path:
    """Write ``path`` atomically: ``write(fh)`` fills a temporary file beside it, which replaces it."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            write(fh)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_json(obj, path, indent: int = 1) -> Path:
    """Strict JSON (NaN and infinity are refused: ``allow_nan=False``), written atomically."""
    text = json.dumps(obj, indent=indent, sort_keys=False, allow_nan=False) + "\n"
    return atomic_write(path, lambda fh: fh.write(text.encode()))


def check_writable(path, what: str = "output") -> Path:
    """Create ``path``'s folder and check that a file can be written there (a ValueError naming it)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path} is a directory; give a file path")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"cannot create the folder of {what} {path}: {e.strerror or e}") from None
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ValueError(f"cannot write {what} {path}: permission denied")
    return path


def file_kind(path) -> str | None:
    """What the file at ``path`` is, read from its entries (never its name): ``"dataset"`` (a ``meta``
    entry with a ``format``), ``"trajectory"`` (:data:`TRAJECTORY_KEYS`), or None for anything else."""
    import numpy as np

    try:
        if not zipfile.is_zipfile(path):
            return None
        with np.load(path, allow_pickle=False) as z:
            names = set(z.files)
            if "meta" in names:
                meta = json.loads(str(z["meta"]))
                return "dataset" if isinstance(meta, dict) and "format" in meta else None
            return "trajectory" if TRAJECTORY_KEYS <= names else None
    except Exception:  # unreadable in any way (a corrupt member, a pickle, bad JSON): not a file we know
        return None


def check_replaceable(path, kind: str, overwrite: bool = False) -> Path:
    """Refuse (a one-line ValueError) to replace an existing file at ``path`` that is not of ``kind`` (a
    key of :data:`KINDS`) unless ``overwrite``: a command may replace its own output (a rerun)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of output {kind!r}; one of {sorted(KINDS)}")
    path = Path(path)
    if overwrite or not path.exists() or path.is_dir():  # a folder is check_writable's error
        return path
    found = file_kind(path)
    if found == kind:
        return path
    what = KINDS[found] if found else "not a file this package writes, or unreadable"
    raise ValueError(f"refusing to replace {path}: it is {what}, not {KINDS[kind]}; pass --overwrite to replace "
                     "it, or choose another --out")
