"""Throughput of Dask sweeps against one batched process, and Dask's per-task overhead -> JSON.

    python benchmarks/ensemble_bench.py                      # 8 quenches of ED on 12x12, 400 steps
    python benchmarks/ensemble_bench.py --L 4 --steps 20 --trivial 50 --out /tmp/ensemble_toy.json

Measures, for R replicas (one task each) of one quench setting:
* ``batched``: one engine run (:func:`holstein.quench.run`) with B = R in this process, one thread;
* ``serial``: the sweep's tasks one after the other in this process (``client="serial"``): the cost
  of per-task files, checkpoints and compact observables on top of the dynamics;
* ``dask_<n>``: the same sweep on a LocalCluster of n single-threaded workers (cluster start-up
  and the workers' first imports are timed separately, not in the throughput);
* ``trivial``: the wall time per no-op Dask task on the largest cluster (scheduling overhead).
Throughput is site-steps/s = R · L² · steps / wall time. The JSON records os.getloadavg() before
and after, since other processes on the machine change every number here.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _noop(i):
    return i


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="ed", help="'ed' or a committed model (as for `python -m holstein sweep`)")
    ap.add_argument("--L", type=int, default=12)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--kT", type=float, default=0.1)
    ap.add_argument("--replicas", type=int, default=8)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--trivial", type=int, default=200, help="no-op tasks for the per-task overhead")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "ensemble.json"))
    args = ap.parse_args(argv)

    import dask
    import distributed
    import torch

    from holstein import ensemble, quench
    from holstein.bench import machine_info
    from holstein.cluster import connect
    from holstein.force import load_force
    from holstein.files import write_json
    from holstein.params import PAPER

    torch.set_num_threads(1)
    p = PAPER.replace(kT=args.kT)
    seeds = list(range(args.replicas))
    site_steps = args.replicas * args.L ** 2 * args.steps
    load_before = os.getloadavg()
    rows = []

    def row(name, wall, **extra):
        rows.append(dict(name=name, wall_s=wall, site_steps_per_s=site_steps / wall, **extra))
        print(f"{name:>10}: {wall:8.3f} s  {site_steps / wall:12.4g} site-steps/s", flush=True)

    force = load_force(args.model, p)
    force_id = force.id
    t0 = time.perf_counter()
    quench.run(force, args.L, seeds, p, args.steps, args.every, progress=False)
    row("batched", time.perf_counter() - t0, workers=1, B=args.replicas)

    tasks = ensemble.make_tasks(args.model, args.L, [args.kT], seeds, args.steps, args.every, p=p)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        ensemble.sweep(tasks, Path(tmp) / "serial", client="serial", progress=False)
        row("serial", time.perf_counter() - t0, workers=1, tasks=len(tasks))
        trivial = None
        for n in args.workers:
            t0 = time.perf_counter()
            client, close = connect(workers=n)
            try:
                client.wait_for_workers(n)
                client.run(lambda: [__import__(m) for m in ("holstein.ensemble", "holstein.recipes")])  # first imports
                startup = time.perf_counter() - t0
                t0 = time.perf_counter()
                s = ensemble.sweep(tasks, Path(tmp) / f"dask{n}", client=client, progress=False)
                wall = time.perf_counter() - t0
                m = ensemble.read_manifest(Path(tmp) / f"dask{n}")["tasks"]
                task_s = sum(e.get("wall_s", 0.0) for e in m.values())
                row(f"dask_{n}", wall, workers=n, tasks=len(tasks), startup_s=startup, sum_task_wall_s=task_s,
                    overhead_per_task_s=max(0.0, wall * n - task_s) / len(tasks), done=s["done"])
                if n == max(args.workers) and args.trivial:
                    client.gather(client.map(_noop, range(10), pure=False))  # warm
                    t0 = time.perf_counter()
                    client.gather(client.map(_noop, range(args.trivial), pure=False))
                    trivial = dict(tasks=args.trivial, workers=n, per_task_s=(time.perf_counter() - t0) / args.trivial)
                    print(f"   trivial: {trivial['per_task_s'] * 1e3:.3f} ms per no-op task on {n} workers")
            finally:
                close()
    res = dict(benchmark="ensemble_sweep", model=args.model, force_id=force_id, L=args.L, steps=args.steps,
               every=args.every, kT=args.kT, replicas=args.replicas, results=rows, trivial=trivial,
               loadavg_before=list(load_before), loadavg_after=list(os.getloadavg()),
               machine=dict(machine_info("cpu"), python=platform.python_version(), dask=dask.__version__,
                            distributed=distributed.__version__),
               command="python benchmarks/ensemble_bench.py " + " ".join(argv if argv is not None else sys.argv[1:]))
    write_json(res, args.out)
    print(f"wrote {args.out}")
    return res


if __name__ == "__main__":  # the workers are spawned processes: they import this file without running it
    main()
