"""ED datasets: hot random configurations and snapshots of ED Langevin quenches.

A dataset is one ``.npz`` file with arrays

    Q     (S, L, L)  displacements                     F    (S, L, L)  total ED forces
    n     (S, L, L)  ED densities n_i                  kind (S,)       0 = random, 1 = quench
    time  (S,)       time since the quench (1/t)        run  (S,)       trajectory index (-1: random)

and ``meta``, a JSON string with the parameters, L, seeds, sizes, package version and the
sha256 of the arrays. :func:`load` recomputes the hash and refuses a corrupt or mismatched file.

Random snapshots follow the reference code: Q_i ~ N(0, √(5/κ)) independently. Quench
snapshots come from ``quench_runs`` ED Langevin trajectories started hot (Q ~ N(0, √(5/κ)),
V ~ N(0, √(5/m))) at the bath temperature ``p.kT``, recorded every ``quench_every`` steps.
Generation is reproducible from its seed and resumable: partial work lives in
``<path>.parts/`` and a rerun of the same command continues from it.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import dynamics, ed
from .forces import elastic
from .params import HolsteinParams

__all__ = ["Dataset", "generate", "load", "split_indices", "random_configurations", "content_hash",
           "TEST_EVERY"]

ARRAYS = ("Q", "n", "F", "kind", "time", "run")
#: every TEST_EVERY-th snapshot (indices 6, 13, 20, ...) is held out for testing
TEST_EVERY = 7


def content_hash(arrays: dict) -> str:
    """sha256 over the dataset arrays (names, dtypes, shapes and bytes, in a fixed order)."""
    h = hashlib.sha256()
    for k in ARRAYS:
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def split_indices(S: int, test_every: int = TEST_EVERY) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices of S snapshots: every ``test_every``-th one is held out."""
    idx = np.arange(S)
    test = idx % test_every == test_every - 1
    return idx[~test], idx[test]


@dataclass
class Dataset:
    """An ED dataset in memory (numpy, float64). See the module docstring for the arrays."""

    Q: np.ndarray
    n: np.ndarray
    F: np.ndarray
    kind: np.ndarray
    time: np.ndarray
    run: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def L(self) -> int:
        return int(self.Q.shape[-1])

    @property
    def params(self) -> HolsteinParams:
        return HolsteinParams(**self.meta["params"])

    @property
    def sha256(self) -> str:
        return self.meta["sha256"]

    def __len__(self) -> int:
        return len(self.Q)

    @property
    def electronic_forces(self) -> np.ndarray:
        """g (n_i - 1/2), the part of F that the electrons exert."""
        return self.params.g * (self.n - 0.5)

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) indices; every 7th snapshot is held out."""
        return split_indices(len(self))

    def tensors(self, idx=None, device="cpu", dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
        """(Q, F) as torch tensors, optionally for a subset of indices."""
        idx = slice(None) if idx is None else idx
        return (torch.as_tensor(self.Q[idx], dtype=dtype, device=device),
                torch.as_tensor(self.F[idx], dtype=dtype, device=device))


def random_configurations(L: int, p: HolsteinParams, count: int, seed: int) -> np.ndarray:
    """``count`` hot random fields Q_i ~ N(0, √(5/κ)), shape (count, L, L); snapshot j uses seed (seed, j)."""
    std = np.sqrt(5.0 / p.kappa) if p.kappa > 0 else np.sqrt(5.0 / p.k)
    return np.stack([np.random.default_rng([seed, 0, j]).normal(0.0, std, size=(L, L)) for j in range(count)]) \
        if count else np.zeros((0, L, L))


def _save_npz(path: Path, arrays: dict, meta: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, meta=np.array(json.dumps(meta, sort_keys=True)), **arrays)
    os.replace(tmp, path)


def generate(path, L: int, p: HolsteinParams, n_random: int, n_quench: int, quench_runs: int = 4,
             quench_every: int = 50, seed: int = 0, batch: int = 8, progress: bool = True,
             device: str = "cpu", command: str | None = None) -> Dataset:
    """Generate (or resume generating) an ED dataset at ``path`` and return it.

    ``n_quench`` snapshots are spread evenly over ``quench_runs`` trajectories; each trajectory
    records one snapshot every ``quench_every`` steps, starting after the first interval.
    Cost: (n_random + n_quench·(quench_every + 1)) dense diagonalisations of size L².
    """
    from . import __version__

    path = Path(path)
    if n_random < 0 or n_quench < 0 or (n_quench and quench_runs < 1) or quench_every < 1:
        raise ValueError("need n_random >= 0, n_quench >= 0, quench_runs >= 1 and quench_every >= 1")
    if n_random + n_quench == 0:
        raise ValueError("an empty dataset was requested (n_random = n_quench = 0)")
    meta = dict(params=p.to_dict(), L=L, seed=seed, n_random=n_random, n_quench=n_quench,
                quench_runs=quench_runs, quench_every=quench_every, version=__version__,
                command=command or "", random_q_std=float(np.sqrt(5.0 / p.kappa)) if p.kappa > 0 else None)
    parts = path.with_name(path.name + ".parts")
    parts.mkdir(parents=True, exist_ok=True)
    spec = parts / "spec.json"
    key = {k: meta[k] for k in ("params", "L", "seed", "n_random", "n_quench", "quench_runs", "quench_every")}
    if spec.exists() and json.loads(spec.read_text()) != key:
        raise ValueError(f"{parts} holds partial work of a different dataset; delete it or change the output path")
    spec.write_text(json.dumps(key, sort_keys=True))

    # 1. hot random configurations, in resumable chunks
    Qr = random_configurations(L, p, n_random, seed)
    chunks = []
    for start in tqdm(range(0, n_random, batch), desc=f"ED random L={L}", disable=not progress):
        f = parts / f"random_{start:06d}.npy"
        if not f.exists():
            n = ed.density(torch.as_tensor(Qr[start:start + batch], device=device), p).cpu().numpy()
            np.save(f.with_suffix(".tmp.npy"), n)
            os.replace(f.with_suffix(".tmp.npy"), f)
        chunks.append(np.load(f))
    nr = np.concatenate(chunks) if chunks else np.zeros((0, L, L))

    # 2. ED Langevin quenches from hot starts
    force_fn = lambda Q: ed.forces(Q, p)  # noqa: E731
    per_run = [n_quench // quench_runs + (r < n_quench % quench_runs) for r in range(quench_runs)] if n_quench else []
    Qq, tq, rq = [], [], []
    for r, count in enumerate(per_run):
        if count == 0:
            continue
        ckpt = parts / f"quench_{r}.pt"
        Q0, V0 = dynamics.hot_start(L, p, seed=seed * 1000 + r + 1)
        state = dynamics.init(torch.as_tensor(Q0, device=device), force_fn, p, V0=torch.as_tensor(V0, device=device),
                              seed=seed * 1000 + r + 1)
        _, traj = dynamics.run(state, force_fn, p, n_steps=count * quench_every, record_every=quench_every,
                               checkpoint_path=ckpt, checkpoint_every=max(quench_every, 10 * quench_every),
                               resume=True, progress=progress,
                               force_id="ed:" + json.dumps(p.to_dict(), sort_keys=True))
        Q_rec = np.asarray(traj.Q)[-count:]
        Qq.append(Q_rec)
        tq.append(np.asarray(traj.time)[-count:])
        rq.append(np.full(count, r))
    Qq = np.concatenate(Qq) if Qq else np.zeros((0, L, L))
    nq = np.concatenate([ed.density(torch.as_tensor(Qq[s:s + batch], device=device), p).cpu().numpy()
                         for s in range(0, len(Qq), batch)]) if len(Qq) else np.zeros((0, L, L))

    Q = np.concatenate([Qr, Qq])
    n = np.concatenate([nr, nq])
    arrays = dict(Q=Q, n=n, F=p.g * (n - 0.5) + elastic(Q, p),
                  kind=np.concatenate([np.zeros(len(Qr), np.int8), np.ones(len(Qq), np.int8)]),
                  time=np.concatenate([np.zeros(len(Qr)), np.concatenate(tq) if tq else np.zeros(0)]),
                  run=np.concatenate([np.full(len(Qr), -1), np.concatenate(rq) if rq else np.zeros(0, int)]).astype(np.int16))
    meta["sha256"] = content_hash(arrays)
    _save_npz(path, arrays, meta)
    for f in parts.iterdir():
        f.unlink()
    parts.rmdir()
    return Dataset(**arrays, meta=meta)


def load(path, expect_sha256: str | None = None, expect_params: HolsteinParams | None = None) -> Dataset:
    """Load a dataset, verifying its content hash (and optionally the hash and parameters expected)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no dataset at {path}; make one with `python -m holstein generate --out {path}`")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in (*ARRAYS, "meta") if k not in z.files]
            if missing:
                raise ValueError(f"{path} is not a holstein dataset (missing {missing})")
            arrays = {k: z[k] for k in ARRAYS}
            meta = json.loads(str(z["meta"]))
    except (zipfile.BadZipFile, OSError, EOFError, json.JSONDecodeError, io.UnsupportedOperation) as e:
        raise ValueError(f"{path} is corrupt or not a dataset file ({type(e).__name__}: {e}); regenerate it") from e
    digest = content_hash(arrays)
    if digest != meta.get("sha256"):
        raise ValueError(f"{path} is corrupt: content sha256 {digest[:12]}… does not match the "
                         f"recorded {str(meta.get('sha256'))[:12]}…; regenerate it")
    if expect_sha256 is not None and digest != expect_sha256:
        raise ValueError(f"{path} is a different dataset (sha256 {digest[:12]}…, expected {expect_sha256[:12]}…)")
    ds = Dataset(**arrays, meta=meta)
    if expect_params is not None and ds.params != expect_params:
        raise ValueError(f"{path} was made with {ds.params}, expected {expect_params}")
    return ds
