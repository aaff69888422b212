r"""The one quench engine: :func:`run` starts a run, resumes its checkpoint or extends its result,
recording what the :class:`~holstein.quench.recorder.Recorder` chooses into the files of
:mod:`holstein.quench.store`. The dynamics are :func:`holstein.dynamics.run`; the force is a
function ``Q -> F`` (a :class:`holstein.force.Force`, whose ``id`` enters the run's identity).
"""
from __future__ import annotations

import time as _time
from typing import Callable, Sequence

import numpy as np

from .. import dynamics
from ..params import HolsteinParams
from . import store
from .recorder import Recorder
from .start import seed_list, start

__all__ = ["run"]


def run(force: Callable, L: int, seeds, p: HolsteinParams, steps: int, every: int, path=None, *,
        dr: float = 1.0, phi_steps: Sequence[int] = (), phi_replicas: int = 2, snapshots: bool = False,
        scheme: str = "vv_ou", checkpoint_every: int | None = None, device: str = "cpu", progress: bool = True,
        command: str = "", force_id: str | None = None, desc: str = "quench",
        ordered: float | None = None) -> tuple[dict, dict]:
    r"""The quench of ``seeds`` (:func:`holstein.quench.start.start`, from the checkerboard of amplitude
    ``ordered`` if given) to ``p.kT`` for ``steps`` steps, recording every ``every`` steps and the last
    (:class:`Recorder`). Returns ``(identity, result)`` as :func:`store.load` does.

    With ``path`` (``<stem>.npz``): a checkpoint of the same identity is resumed bit for bit, a
    finished result of as many or more steps returned, a shorter one extended from its final state
    (``<stem>.state.pt``, not kept for ``snapshots``), a file of another identity refused. A
    checkpoint is written every ``checkpoint_every`` steps (default: the largest multiple of
    ``every`` up to 1000) and on Ctrl-C (then ``KeyboardInterrupt``). A blow-up keeps the records up
    to it (``complete=False``) and re-raises :class:`holstein.dynamics.BlowUpError` with
    ``.result = (identity, result)``. ``force_id`` defaults to ``force.id``.
    """
    force_id = getattr(force, "id", None) if force_id is None else force_id
    if path is not None and not force_id:
        raise ValueError("a run with a path needs the force's fingerprint (a holstein.force.Force, or force_id)")
    checkpoint_every = every * max(1, 1000 // every) if checkpoint_every is None else int(checkpoint_every)
    if isinstance(L, bool) or int(L) < 2 or (int(L) % 2 and p.lattice == "square"):
        raise ValueError(f"L must be {'even and ' if p.lattice == 'square' else ''}>= 2, got {L}")
    if isinstance(steps, bool) or int(steps) < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    rec = Recorder(int(every), dr, tuple(phi_steps), phi_replicas, snapshots, lattice=p.lattice)
    ident = store.identity(force_id or "unspecified", L, seeds, every, scheme, p,
                           rec.settings(len(seed_list(seeds))))
    if ordered is not None:
        ident["start"] = dict(ordered=float(ordered))
    state = acc = None
    if path is not None:
        res_path, _, ckpt = store.files(path)
        res_path.parent.mkdir(parents=True, exist_ok=True)
        if ckpt.exists():
            d, acc = store.read_checkpoint(path, ident)
            state = dynamics.State.from_dict(d, device=device)
        elif res_path.exists():
            old = store.load(path, ident)
            if int(old[1]["step"][-1]) >= steps or not bool(old[1]["complete"]):
                return old
            d = store.read_state(path)
            Q = d["Q"].to(device)
            state = dynamics.State.from_dict(dict(d, F=force(Q).to(Q.dtype)), device=device)
            acc = rec.reopen(old[1])
    if state is None:
        state = start(force, L, seeds, p, device, ordered=ordered)
        acc = rec.new()
        rec.observe(acc, [0], state.Q.detach().cpu().numpy()[None], p.dt)
    return _integrate(force, state, acc, rec, ident, p, steps, path, scheme, checkpoint_every, progress, command, desc)


def _integrate(force, state, acc, rec, ident, p, steps, path, scheme, checkpoint_every, progress, command, desc):
    from tqdm.auto import tqdm

    t0 = _time.perf_counter() - acc["wall_s"]

    def keep(traj):
        idx = [i for i, s in enumerate(traj.step.tolist()[1:], 1) if rec.keeps(s, steps)]
        rec.observe(acc, traj.step[idx].tolist(), traj.Q[idx].numpy(), p.dt)
        acc["wall_s"] = _time.perf_counter() - t0

    def finish(complete: bool):
        """Write the result (and, complete, the final state); drop the checkpoint; return what load does."""
        res = dict(rec.result(acc), complete=np.bool_(complete), wall_s=np.float64(acc["wall_s"]))
        if path is None:
            return ident, dict(res, command=command, time=res["step"] * p.dt)
        if complete and not rec.snapshots:  # a snapshot run (simulate's) is one file
            store.write_state(path, state)
        store.save(path, ident, command, res)
        store.files(path)[2].unlink(missing_ok=True)
        return store.load(path)

    with tqdm(total=steps, initial=state.step, disable=not progress, unit="step", desc=desc) as bar:
        while state.step < steps:
            n = min(checkpoint_every - state.step % checkpoint_every, steps - state.step)
            if state.step % rec.every:
                n = min(n, rec.every - state.step % rec.every)  # back onto the recorded steps
            try:
                state, traj = dynamics.run(state, force, p, n_steps=n, record_every=rec.every, scheme=scheme,
                                           progress=False)
            except dynamics.BlowUpError as e:
                keep(e.trajectory)
                e.result = finish(False)
                raise
            except dynamics.Interrupted as e:
                keep(e.trajectory)
                if path is not None:
                    store.write_checkpoint(path, ident, e.state, acc)
                raise KeyboardInterrupt(f"stopped at step {e.state.step} of {steps}" + (
                    f"; checkpoint {store.files(path)[2]} written" if path is not None else "")) from None
            keep(traj)
            if path is not None and state.step < steps:
                store.write_checkpoint(path, ident, state, acc)
            m, Lt = acc["parts"][-1]["m"][-1], acc["parts"][-1]["L"][-1]  # (B,) at the last record
            bar.set_postfix(t=f"{state.time:.4g}", m=f"{m.mean():.3g}",
                            L=f"{Lt[np.isfinite(Lt)].mean() if np.isfinite(Lt).any() else np.nan:.3g}", refresh=False)
            bar.update(n)
    return finish(True)
