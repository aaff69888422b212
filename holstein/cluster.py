"""Dask clients for the sweeps of :mod:`holstein.ensemble`: a scheduler address or file, a cluster
from a YAML config (e.g. ``dask_jobqueue.SLURMCluster``, optional), or a new ``LocalCluster``.

Every user error is one line (a ValueError naming the address or file) and comes fast: a scheduler
is probed within :data:`TIMEOUT` seconds before a client is made, a cluster config checked before
anything starts. Dask's own logging stays out of a notebook's output: the workers of a new
``LocalCluster`` log at :data:`WORKER_LOG_LEVEL` only, and starting a configured cluster or closing
what was made here logs nothing (:func:`quiet_logs`).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib
import importlib.util
import inspect
import json
import logging
import os
import socket
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin

__all__ = ["connect", "cluster_from_config", "scheduler_address", "probe_scheduler", "quiet_logs", "TIMEOUT",
           "WORKER_LOG_LEVEL"]

#: seconds a scheduler address has to answer (TCP connect, Dask handshake, identity reply)
TIMEOUT = 10.0
#: the ``silence_logs`` of a new LocalCluster's workers. Not ERROR: a worker logs a missed heartbeat (a busy
#: machine, a closing scheduler) with ``logger.exception``, i.e. at ERROR with its traceback, and a task's
#: own failure reaches the caller through its future (and the sweep's manifest) anyway.
WORKER_LOG_LEVEL = logging.CRITICAL


@contextlib.contextmanager
def quiet_logs(level: int = logging.CRITICAL):
    """The ``distributed`` loggers (``distributed`` and those below it with a level of their own, such as
    ``distributed.client``) at ``level`` inside the block, restored after it: a failed start is reported
    once, by us, and a closing cluster's comm errors are not logged as tracebacks."""
    names = ["distributed"] + [n for n, lg in logging.root.manager.loggerDict.items()
                               if n.startswith("distributed.") and isinstance(lg, logging.Logger) and lg.level]
    old = {n: logging.getLogger(n).level for n in names}
    for n in names:
        logging.getLogger(n).setLevel(level)
    try:
        yield
    finally:
        for n, lvl in old.items():
            logging.getLogger(n).setLevel(lvl)


class _OneThread(WorkerPlugin):
    """Worker plugin: torch (and OpenMP) on one thread per worker thread, so workers don't oversubscribe."""

    name = "holstein-one-thread"

    def setup(self, worker):
        import torch

        os.environ["OMP_NUM_THREADS"] = "1"  # for libraries that read it later
        torch.set_num_threads(1)


# ----------------------------------------------------------------------------- a scheduler
def scheduler_address(scheduler) -> str:
    """The address of ``scheduler``: an address (``tcp://host:port`` or ``host:port``) or a scheduler file
    (the JSON of ``dask scheduler --scheduler-file``); a one-line ValueError for anything else."""
    from distributed.comm.addressing import parse_address, parse_host_port

    text = str(scheduler)
    if os.path.isfile(text):
        try:
            info = json.loads(Path(text).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            info = e
        if not isinstance(info, dict) or not isinstance(info.get("address"), str):
            hint = " (a cluster config goes to --cluster)" if text.endswith((".yaml", ".yml")) else ""
            raise ValueError(f"{text} is not a Dask scheduler file (JSON with an \"address\", as `dask scheduler "
                             f"--scheduler-file` writes){hint}")
        return info["address"]
    if "://" not in text and (text.endswith((".json", ".yaml", ".yml")) or os.sep in text):
        raise ValueError(f"no scheduler file {text}; give an existing scheduler file or an address tcp://host:port")
    try:
        scheme, loc = parse_address(text)
        if scheme in ("tcp", "tls"):
            parse_host_port(loc)
    except ValueError:
        raise ValueError(f"{text} is neither a scheduler file nor a scheduler address (tcp://host:port)") from None
    return text if "://" in text else f"tcp://{text}"


async def _identity(address: str, timeout: float) -> dict:
    """The reply to ``{"op": "identity"}`` at ``address``; connect, handshake and reply all within ``timeout``."""
    from distributed.comm import connect as comm_connect

    async def ask():
        comm = await comm_connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity"})
            return await comm.read()
        finally:
            comm.abort()
    return await asyncio.wait_for(ask(), timeout)


def probe_scheduler(address: str, timeout: float = TIMEOUT) -> dict:
    """The ``identity`` of the Dask scheduler at ``address`` within about ``timeout`` seconds, or a
    one-line ValueError: nothing listens, nothing answers, or what answers is not a scheduler."""
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, loc = parse_address(address)
    if scheme == "tcp":  # refused or unreachable: say so at once, not after the client's retries
        host, port = parse_host_port(loc)
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except socket.gaierror as e:
            raise ValueError(f"cannot reach a Dask scheduler at {address}: unknown host {host} ({e})") from None
        except ConnectionRefusedError:
            raise ValueError(f"no Dask scheduler at {address}: nothing listens there (connection refused); start "
                             "one or check the address") from None
        except (socket.timeout, TimeoutError):
            raise ValueError(f"no Dask scheduler at {address}: no TCP connection within {timeout:g} s") from None
        except OSError as e:
            raise ValueError(f"cannot reach a Dask scheduler at {address}: {e.strerror or e}") from None
    # its own thread and event loop: a caller's running loop (Jupyter) is left alone
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="holstein-probe")
    try:
        reply = pool.submit(asyncio.run, _identity(address, timeout)).result(timeout + 5)
    except (asyncio.TimeoutError, concurrent.futures.TimeoutError, TimeoutError):
        raise ValueError(f"no Dask scheduler answered at {address} within {timeout:g} s: something else listens "
                         "there (a web server, the dashboard's port?); give the scheduler's tcp:// address") from None
    except Exception as e:  # a closed connection, garbage instead of a Dask message, ...
        raise ValueError(f"no Dask scheduler at {address}: {type(e).__name__}: {e}".splitlines()[0]) from None
    finally:
        pool.shutdown(wait=False)
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        kind = reply.get("type") if isinstance(reply, dict) else type(reply).__name__
        raise ValueError(f"{address} is a Dask {kind}, not a scheduler; give the scheduler's address")
    return reply


# ----------------------------------------------------------------------------- a cluster config
def _accepted_options(cls) -> set | None:
    """The keyword arguments ``cls`` accepts, or None if it takes any (``**kwargs`` we cannot follow).
    A ``LocalCluster`` hands the rest to its workers: Nanny, Worker and Server name them all."""
    from distributed import LocalCluster, Nanny, Worker
    from distributed.core import Server

    chain = [cls, Nanny, Worker, Server] if isinstance(cls, type) and issubclass(cls, LocalCluster) else [cls]
    names, open_ = set(), False
    for c in chain:
        try:
            params = inspect.signature(c).parameters.values()
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        open_ = any(p.kind == p.VAR_KEYWORD for p in params)  # the last of the chain decides
    return None if open_ else names


def cluster_from_config(path):
    """A cluster from a YAML file: ``cluster`` (the class, e.g. ``dask_jobqueue.SLURMCluster``),
    ``options`` (its keyword arguments), ``scale`` or ``adapt`` (keyword arguments of those methods).
    A one-line ValueError, before anything starts, for a file that says anything else."""
    import yaml

    path = Path(path)
    try:
        cfg = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"no cluster config {path}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ValueError(f"{path} is not valid YAML{where}: {getattr(e, 'problem', None) or e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"cannot read the cluster config {path}: {getattr(e, 'strerror', None) or e}") from None
    cfg = {} if cfg is None else cfg
    if not isinstance(cfg, dict) or "cluster" not in cfg:
        raise ValueError(f"{path}: needs a 'cluster:' entry naming the class, e.g. dask_jobqueue.SLURMCluster")
    module, _, name = str(cfg["cluster"]).rpartition(".")
    if not module:
        raise ValueError(f"{path}: cluster: {cfg['cluster']} is not module.Class, e.g. dask_jobqueue.SLURMCluster")
    try:
        cls = getattr(importlib.import_module(module), name)
    except ImportError as e:
        raise ValueError(f"{path}: cannot import {cfg['cluster']} ({e}); dask-jobqueue is optional: "
                         "pip install dask-jobqueue") from None
    except AttributeError:
        raise ValueError(f"{path}: {module} has no {name}") from None
    options = cfg.get("options") or {}
    for entry in ("options", "scale", "adapt"):
        if not isinstance(cfg.get(entry) or {}, dict):
            raise ValueError(f"{path}: '{entry}:' must be a mapping of keyword arguments")
    accepted = _accepted_options(cls)
    unknown = sorted(set(options) - accepted) if accepted is not None else []
    if unknown:
        raise ValueError(f"{path}: {cfg['cluster']} has no option {', '.join(unknown)}")
    try:
        with quiet_logs():  # a failed start is reported once, below, not as a logged traceback
            cluster = cls(**options)
    except Exception as e:
        cause = e  # the innermost cause: RuntimeError("Nanny failed to start.") -> the TypeError
        while cause.__cause__ is not None:
            cause = cause.__cause__
        raise ValueError(f"{path}: {cfg['cluster']} did not start: {type(cause).__name__}: {cause}"
                         .splitlines()[0]) from None
    try:
        if cfg.get("adapt"):
            cluster.adapt(**cfg["adapt"])
        elif cfg.get("scale"):
            cluster.scale(**cfg["scale"])
    except TypeError as e:
        with quiet_logs():
            cluster.close()
        raise ValueError(f"{path}: {'adapt' if cfg.get('adapt') else 'scale'}: {e}") from None
    return cluster


# ----------------------------------------------------------------------------- a client
def connect(scheduler=None, cluster=None, workers: int | None = None, timeout: float = TIMEOUT):
    """(client, close): a client to ``scheduler`` (an address or scheduler file, probed within
    ``timeout``), to ``cluster`` (an object or a YAML config), or to a new ``LocalCluster`` of
    ``workers`` (default: one per core) single-threaded processes whose logs are silenced below
    :data:`WORKER_LOG_LEVEL`; ``close()`` shuts down what was made here without logging (:func:`quiet_logs`).
    Prints the dashboard link."""
    from distributed import Client, LocalCluster

    own = None
    if scheduler is not None:
        address = scheduler_address(scheduler)
        probe_scheduler(address, timeout)
        client = Client(address, timeout=timeout)
    elif cluster is not None:
        own = cluster_from_config(cluster) if isinstance(cluster, (str, os.PathLike)) else None
        client = Client(own or cluster)
    else:  # the scheduler's HTTP server always runs (on a free port); the dashboard pages need bokeh
        own = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=WORKER_LOG_LEVEL)
        client = Client(own)
    local_only = scheduler is None and cluster is None and importlib.util.find_spec("bokeh") is None
    print("Dask: no dashboard (pip install bokeh for one)" if local_only or not client.dashboard_link else
          f"Dask dashboard: {client.dashboard_link}")

    def close():
        with quiet_logs():
            client.close()
            if own is not None:
                own.close()
    return client, close
