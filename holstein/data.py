"""ED datasets: hot random configurations and snapshots of ED Langevin quenches.

A dataset is one ``.npz`` file with arrays

    Q     (S, L, L)  displacements                     n    (S, L, L)  ED densities n_i
                     (honeycomb, ``params["lattice"]``: (S, L, L, 2), indexed [x, y, s])
    kind  (S,)       RANDOM (0) or QUENCH (1)           run  (S,)       trajectory index (-1: random)
    time  (S,)       time since the quench (1/t)

and ``meta``, a JSON string with the parameters, L, seeds, sizes, package version, the command
that made it and the sha256 of the arrays *and* of every other metadata field (format 2). The
total ED force F = g (n - 1/2) - k Q - κ Σ_nn Q (:func:`holstein.forces.from_density`) is not
stored: it is recomputed on load (files a third smaller). :func:`load` recomputes the hash and
refuses a corrupt, edited or mismatched file.

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
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import dynamics, ed
from .files import atomic_write
from .forces import from_density
from .lattice import get as get_lattice
from .params import HolsteinParams

__all__ = ["Dataset", "generate", "load", "split_indices", "split_train_val", "random_configurations", "content_hash",
           "with_extra", "training_sets", "extras_key", "TEST_EVERY", "RANDOM", "QUENCH", "KINDS", "FORMAT"]

#: the stored arrays (F is derived from n and Q on load)
ARRAYS = ("Q", "n", "kind", "time", "run")
#: snapshot kinds: hot random configurations and snapshots of ED Langevin quenches
RANDOM, QUENCH = 0, 1
KINDS = {"random": RANDOM, "quench": QUENCH}
#: file format: 2 = compact (no F) with the metadata under the hash
FORMAT = 2
#: every TEST_EVERY-th snapshot (indices 6, 13, 20, ...) is held out for testing
TEST_EVERY = 7


def content_hash(arrays: dict, meta: dict) -> str:
    """sha256 over the stored arrays (names, dtypes, shapes and bytes, in a fixed order) and every
    metadata field but the hash itself (canonical JSON), so that no parameter can be edited."""
    h = hashlib.sha256()
    for k in ARRAYS:
        a = np.ascontiguousarray(arrays[k])
        h.update(f"{k}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.tobytes())
    h.update(json.dumps({k: v for k, v in meta.items() if k != "sha256"}, sort_keys=True).encode())
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
    kind: np.ndarray
    time: np.ndarray
    run: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def L(self) -> int:
        return int(self.Q.shape[1])  # (S, L, L) or, on the honeycomb, (S, L, L, 2)

    @property
    def params(self) -> HolsteinParams:
        return HolsteinParams(**self.meta["params"])

    @property
    def sha256(self) -> str:
        return self.meta["sha256"]

    def __len__(self) -> int:
        return len(self.Q)

    @property
    def F(self) -> np.ndarray:
        """Total ED force g (n_i - 1/2) - k Q_i - κ Σ_nn Q_j, (S, L, L) (derived, cached)."""
        if "_F" not in self.__dict__:
            self.__dict__["_F"] = from_density(self.n, self.Q, self.params)
        return self.__dict__["_F"]

    @property
    def electronic_forces(self) -> np.ndarray:
        """g (n_i - 1/2), the part of F that the electrons exert."""
        return from_density(self.n, None, self.params)

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) indices; every 7th snapshot is held out."""
        return split_indices(len(self))

    def tensors(self, idx=None, device="cpu", dtype=torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
        """(Q, F) as torch tensors, optionally for a subset of indices."""
        idx = slice(None) if idx is None else idx
        return (torch.as_tensor(self.Q[idx], dtype=dtype, device=device),
                torch.as_tensor(self.F[idx], dtype=dtype, device=device))


def random_configurations(L: int, p: HolsteinParams, count: int, seed: int) -> np.ndarray:
    """``count`` hot random fields Q_i ~ N(0, √(5/κ)), shape (count, L, L) (honeycomb (count, L, L, 2));
    snapshot j uses seed (seed, j)."""
    std, shape = p.hot_start_std[0], get_lattice(p.lattice).field_shape(L)
    return np.stack([np.random.default_rng([seed, 0, j]).normal(0.0, std, size=shape) for j in range(count)]) \
        if count else np.zeros((0, *shape))


def _save_npz(path: Path, arrays: dict, meta: dict) -> None:
    atomic_write(path, lambda fh: np.savez_compressed(fh, meta=np.array(json.dumps(meta, sort_keys=True)),
                                                      **{k: arrays[k] for k in ARRAYS}))


def _quench_run(parts: Path, r: int, count: int, L: int, p: HolsteinParams, quench_every: int, seed: int,
                device: str, progress: bool) -> dict:
    """Quench trajectory ``r`` of a dataset (``count`` snapshots, one every ``quench_every`` steps): the
    unbatched ED run of integer seed ``run_seed(seed, r)`` with the quench engine, run or resumed in
    ``parts/quench_<r>.npz``; returns its result (``Q (T, L, L)``, ``time (T,)``, ...)."""
    from . import quench
    from .force import load_force

    return quench.run(load_force("ed", p, device=device), L, dynamics.run_seed(seed, r), p, count * quench_every,
                      quench_every, parts / f"quench_{r}.npz", snapshots=True, checkpoint_every=10 * quench_every,
                      device=device, progress=progress, desc=f"ED quench {r} L={L}")[1]


def generate(path, L: int, p: HolsteinParams, n_random: int, n_quench: int, quench_runs: int = 4,
             quench_every: int = 50, seed: int = 0, batch: int = 8, progress: bool = True,
             device: str = "cpu", command: str | None = None, only_runs=None) -> Dataset | None:
    """Generate (or resume generating) an ED dataset at ``path`` and return it.

    ``n_quench`` snapshots are spread evenly over ``quench_runs`` trajectories; each trajectory
    records one snapshot every ``quench_every`` steps, starting after the first interval.
    Cost: (n_random + n_quench·(quench_every + 1)) dense diagonalisations of size L².

    ``only_runs``: run only these quench trajectories (their checkpoints in ``<path>.parts/``) and
    return None, so that separate processes can share the trajectories of one dataset; a final
    call without it assembles the file (bit-identical to one process doing everything).
    """
    from . import __version__

    path = Path(path)
    if n_random < 0 or n_quench < 0 or (n_quench and quench_runs < 1) or quench_every < 1:
        raise ValueError("need n_random >= 0, n_quench >= 0, quench_runs >= 1 and quench_every >= 1")
    if n_random + n_quench == 0:
        raise ValueError("an empty dataset was requested (n_random = n_quench = 0)")
    ed.check_memory(L, batch, N=get_lattice(p.lattice)(L).N)  # before anything is written: no .parts/ then
    empty = np.zeros((0, *get_lattice(p.lattice).field_shape(L)))
    meta = dict(params=p.to_dict(), L=L, seed=seed, n_random=n_random, n_quench=n_quench,
                quench_runs=quench_runs, quench_every=quench_every, version=__version__,
                command=command or "", random_q_std=p.hot_start_std[0], format=FORMAT)
    parts = path.with_name(path.name + ".parts")
    parts.mkdir(parents=True, exist_ok=True)
    spec = parts / "spec.json"
    key = {k: meta[k] for k in ("params", "L", "seed", "n_random", "n_quench", "quench_runs", "quench_every")}
    if spec.exists() and json.loads(spec.read_text()) != key:
        raise ValueError(f"{parts} holds partial work of a different dataset; delete it or change the output path")
    spec.write_text(json.dumps(key, sort_keys=True))

    per_run = [n_quench // quench_runs + (r < n_quench % quench_runs) for r in range(quench_runs)] if n_quench else []
    if only_runs is not None:
        bad = sorted(set(int(r) for r in only_runs) - set(range(len(per_run))))
        if bad:
            raise ValueError(f"only_runs {bad}: this dataset has quench runs 0..{len(per_run) - 1}")
        for r in sorted(set(int(r) for r in only_runs)):
            _quench_run(parts, r, per_run[r], L, p, quench_every, seed, device, progress)
        return None

    # 1. hot random configurations, in resumable chunks
    Qr = random_configurations(L, p, n_random, seed)
    chunks = []
    for start in tqdm(range(0, n_random, batch), desc=f"ED random L={L}", disable=not progress):
        f = parts / f"random_{start:06d}.npy"
        if not f.exists():
            n = ed.density(torch.as_tensor(Qr[start:start + batch], device=device), p).cpu().numpy()
            atomic_write(f, lambda fh: np.save(fh, n))
        chunks.append(np.load(f))
    nr = np.concatenate(chunks) if chunks else empty

    # 2. ED Langevin quenches from hot starts
    Qq, tq, rq = [], [], []
    for r, count in enumerate(per_run):
        if count == 0:
            continue
        traj = _quench_run(parts, r, count, L, p, quench_every, seed, device, progress)
        Qq.append(np.asarray(traj["Q"])[-count:])
        tq.append(np.asarray(traj["time"])[-count:])
        rq.append(np.full(count, r))
    Qq = np.concatenate(Qq) if Qq else empty
    nq = np.concatenate([ed.density(torch.as_tensor(Qq[s:s + batch], device=device), p).cpu().numpy()
                         for s in range(0, len(Qq), batch)]) if len(Qq) else empty

    Q = np.concatenate([Qr, Qq])
    n = np.concatenate([nr, nq])
    arrays = dict(Q=Q, n=n,
                  kind=np.concatenate([np.full(len(Qr), RANDOM, np.int8), np.full(len(Qq), QUENCH, np.int8)]),
                  time=np.concatenate([np.zeros(len(Qr)), np.concatenate(tq) if tq else np.zeros(0)]),
                  run=np.concatenate([np.full(len(Qr), -1), np.concatenate(rq) if rq else np.zeros(0, int)]).astype(np.int16))
    meta["sha256"] = content_hash(arrays, meta)
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
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} is a dataset of format {meta.get('format', 1)}, this package reads format "
                         f"{FORMAT}; regenerate it with the command in its metadata: {meta.get('command', '?')}")
    digest = content_hash(arrays, meta)
    if digest != meta.get("sha256"):
        raise ValueError(f"{path} is corrupt or was edited: the sha256 of its arrays and metadata, {digest[:12]}…, "
                         f"does not match the recorded {str(meta.get('sha256'))[:12]}…; regenerate it")
    if expect_sha256 is not None and digest != expect_sha256:
        raise ValueError(f"{path} is a different dataset (sha256 {digest[:12]}…, expected {expect_sha256[:12]}…)")
    ds = Dataset(**arrays, meta=meta)
    if expect_params is not None and ds.params != expect_params:
        raise ValueError(f"{path} was made with {ds.params}, expected {expect_params}")
    return ds


def split_train_val(ds: Dataset) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train, val, test) indices: test = every 7th snapshot; val = every 6th of the rest."""
    train, test = ds.split()
    is_val = np.arange(len(train)) % 6 == 5
    return train[~is_val], train[is_val], test


def with_extra(ds: Dataset, extra: Dataset | None, tr: np.ndarray, extra_idx=None) -> tuple[Dataset, np.ndarray]:
    """``ds`` followed by the snapshots ``extra_idx`` of ``extra`` (default all; same L and
    parameters), and the training indices ``tr`` plus those; the held-out and validation
    snapshots stay ``ds``'s."""
    if extra is None:
        return ds, tr
    if extra.L != ds.L or extra.meta["params"] != ds.meta["params"]:
        raise ValueError(f"extra training data must have the dataset's L = {ds.L} and parameters; got L = {extra.L}, "
                         f"{extra.meta['params']}")
    def fingerprint(q):
        return hashlib.sha256(np.ascontiguousarray(q).tobytes()).digest()

    extra_idx = np.arange(len(extra)) if extra_idx is None else np.asarray(extra_idx)
    held = np.setdiff1d(np.arange(len(ds)), tr)  # validation and held-out test snapshots
    fingerprints = {fingerprint(q) for q in ds.Q[held]}
    shared = sum(fingerprint(q) in fingerprints for q in extra.Q[extra_idx])
    if shared:
        raise ValueError(f"the extra training data contains {shared} of the dataset's validation or held-out "
                         "snapshots (is --extra the --data file itself?); training on them would fake the test errors")
    cat = {k: np.concatenate([getattr(ds, k), getattr(extra, k)[extra_idx]]) for k in ARRAYS}
    merged = Dataset(**cat, meta=dict(ds.meta, extra_sha256=extra.sha256))
    return merged, np.concatenate([tr, len(ds) + np.arange(len(extra_idx))])


def _extra_parts(extras) -> list[tuple[Dataset, str]]:
    """``extras`` (None, a Dataset, or a list of Datasets and (Dataset, "all" | "train") pairs) as
    a list of (dataset, part) pairs."""
    if extras is None:
        return []
    out = []
    for e in [extras] if isinstance(extras, Dataset) else extras:
        d, part = (e, "all") if isinstance(e, Dataset) else e
        if part not in ("all", "train"):
            raise ValueError(f"an extra dataset's part must be 'all' or 'train', got {part!r}")
        out.append((d, part))
    return out


def extras_key(extras) -> str | list | None:
    """What a checkpoint records of its extra training data: None, the sha256 of one whole extra
    dataset (as before there could be several), or a list of ``"<sha256>:<part>"``."""
    parts = _extra_parts(extras)
    if not parts:
        return None
    if len(parts) == 1 and parts[0][1] == "all":
        return parts[0][0].sha256
    return [f"{d.sha256}:{part}" for d, part in parts]


def training_sets(ds: Dataset, tr: np.ndarray, extras=None, temperatures: bool = False) -> list[tuple[Dataset, np.ndarray]]:
    """The training snapshots as [(dataset, indices)], one entry per lattice size (a batch stacks
    lattices of one size): ``ds``'s ``tr`` with every extra of the same L appended
    (:func:`with_extra`), then one entry per other L, in the order the extras give them.
    ``temperatures``: extras may have other kT (a temperature-aware model); then one entry per
    (L, kT), since a batch shares its electrons' temperature.

    ``extras`` (:func:`_extra_parts`): datasets whose every snapshot trains, or ``(dataset,
    "train")`` pairs of which only the training split trains (:func:`split_train_val`), so that
    the model can be scored on their held-out snapshots too. Validation and model selection stay
    ``ds``'s. Local models are size-agnostic, so 40×40 and 24×24 snapshots can train one model.
    """
    def key(d):
        return (d.L, d.params.kT) if temperatures else d.L

    def physics(d):
        return {k: v for k, v in d.meta["params"].items() if not (temperatures and k == "kT")}

    sets: dict = {key(ds): (ds, tr)}
    for d, part in _extra_parts(extras):
        if physics(d) != physics(ds):
            raise ValueError(f"extra training data must have the dataset's parameters {physics(ds)}"
                             f"{' (kT may differ)' if temperatures else ''}; got {d.meta['params']}")
        idx = split_train_val(d)[0] if part == "train" else np.arange(len(d))
        if key(d) in sets:
            sets[key(d)] = with_extra(sets[key(d)][0], d, sets[key(d)][1], extra_idx=idx)
        else:
            sets[key(d)] = (d, idx)
    return list(sets.values())
