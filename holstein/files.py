"""Atomic file writes: a reader (or a resumed run) sees the old file or the new one, never half.

Every file the package writes (datasets, checkpoints, metrics, benchmark JSON, results) goes
through :func:`atomic_write`: the content goes to a temporary file in the same folder, which then
replaces the target with ``os.replace`` (atomic on POSIX and Windows).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

__all__ = ["atomic_write", "write_json", "check_writable"]


def atomic_write(path, write: Callable) -> Path:
    """Write ``path`` atomically: ``write(fh)`` fills a binary file handle of a temporary file."""
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
    """Create ``path``'s folder and check that a file can be written there, before any work.

    Raises a ValueError naming the path if it is an existing folder, or if the folder cannot be
    created or written.
    """
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
