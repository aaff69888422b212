"""Speed and scale (``python -m holstein bench speed``): ED, KPM and every model side by side, on
one machine in one run (:func:`bench_speed`); :func:`holstein.plotting.speed_figures` draws it.
"""
from __future__ import annotations

import dataclasses
import functools
from types import MappingProxyType

import torch
from tqdm.auto import tqdm

from .. import ed
from ..observables import fit_power_law
from ..params import PAPER, HolsteinParams
from .timing import MEMORY_METHOD, machine_record, measure, peak_memory, stopwatch

__all__ = ["speed_summary", "SpeedSizes", "SPEED_FULL", "SPEED_TINY", "START_CONFIGURATION", "start_configuration",
           "time_dynamics", "cost_exponent", "bench_speed"]


@dataclasses.dataclass(frozen=True)
class SpeedSizes:
    """Sizes, models and budgets of one :func:`bench_speed` run. :data:`SPEED_FULL` (the defaults) is the
    one statement of the full run, read by :func:`bench_speed`'s defaults and ``bench speed --help``;
    ``max_L`` caps the lattices of the ~10 M-parameter reference models."""

    ed_Ls: tuple = (12, 16, 24, 32, 40, 48, 56, 64)
    Ls: tuple = (16, 32, 64, 128, 256, 512)
    models: tuple = ("gcn_lean", "gcn_lean_mu", "energy_gnn_lean", "bp_mlp_lean", "gcn", "energy_gnn", "bp_mlp")
    max_L: MappingProxyType = dataclasses.field(
        default_factory=lambda: MappingProxyType({"gcn": 64, "energy_gnn": 64, "bp_mlp": 64}))
    repeats: int = 5
    budget_s: float = 20.0
    scaling_Ls: tuple = (64, 512)
    reference_Ls: tuple = (40, 200)
    ed_vs_lean_L: int | None = 40
    ensemble_L: int = 64
    ensemble_B: tuple = (1, 2, 4, 8, 16, 32, 64)
    dtype_Ls: tuple = (64, 256)
    compile: bool = True
    compile_L: int = 256

    def kwargs(self) -> dict:
        """The settings as keyword arguments of :func:`bench_speed` (``max_L`` as a plain dict)."""
        return {f.name: dict(v) if isinstance(v, MappingProxyType) else v
                for f in dataclasses.fields(self) for v in [getattr(self, f.name)]}


#: The full run (``python -m holstein bench speed``).
SPEED_FULL = SpeedSizes()
#: Everything at minimal sizes, in seconds (``--tiny``; run by the test suite).
SPEED_TINY = SpeedSizes(ed_Ls=(4, 6), Ls=(4, 8), repeats=1, budget_s=0.0, scaling_Ls=(4, 8), reference_Ls=(4,),
                        ed_vs_lean_L=4, ensemble_L=4, ensemble_B=(1, 2), dtype_Ls=(4,), compile=False,
                        compile_L=4, max_L=MappingProxyType({"gcn": 4, "energy_gnn": 4, "bp_mlp": 4}))


def cost_exponent(N, t) -> tuple[float, float]:
    """Slope b and its standard error (NaN with 2 sizes) of log t = b log N + c: 3 for ED's eigh, 1 for
    a local model at large N."""
    fit = fit_power_law(N, t)
    return fit.slope, fit.slope_err


START_CONFIGURATION = ("two CDW domains Q_i = ±Q0 (-1)^(x+y) with Q0 = ed.cdw_amplitude(p), the sign "
                       "flipped for x >= L/2, plus N(0, kT/(k - 4|kappa|)) noise; V ~ N(0, kT/m); float64")


_cdw_amplitude = functools.lru_cache(maxsize=8)(ed.cdw_amplitude)


def start_configuration(L: int, p: HolsteinParams = PAPER, device: str = "cpu", seed: int = 0,
                        batch: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The float64 (Q, V) every timing starts from, a stand-in for a coarsening snapshot
    (:data:`START_CONFIGURATION`: two straight domain walls, noise of the softest phonon's thermal
    amplitude). Only KPM's cost depends on Q (its moments grow with max |Q|)."""
    g = torch.Generator().manual_seed(seed)
    shape = (L, L) if batch is None else (batch, L, L)
    x = torch.arange(L)
    cdw = (-1.0) ** (x[:, None] + x[None, :]) * torch.where(x < L // 2, 1.0, -1.0)[:, None]
    noise = (p.kT / (p.k - 4 * abs(p.kappa))) ** 0.5
    Q = _cdw_amplitude(p) * cdw.to(torch.float64) + noise * torch.randn(shape, generator=g, dtype=torch.float64)
    V = (p.kT / p.mass) ** 0.5 * torch.randn(shape, generator=g, dtype=torch.float64)
    return Q.to(device), V.to(device)


def time_dynamics(force_fn, L: int, p: HolsteinParams = PAPER, device: str = "cpu", repeats: int = 5,
                  budget_s: float = 20.0, seed: int = 0, batch: int | None = None, memory: bool = True) -> dict:
    """Time one ``force_fn(Q)`` and one ``dynamics.step`` (vv_ou, float64 state (L, L) or (batch, L, L))
    from :func:`start_configuration`; ``dynamics.init`` is the force's warm-up, the step's measures the
    memory. Returns ``dict(L, N, B, t_force_s, t_force_min_s, t_step_s, t_step_min_s,
    site_steps_per_s = B N / t_step_s, n_force, n_step, mem_*)`` (medians, s).
    """
    from .. import dynamics

    Q0, V0 = start_configuration(L, p, device, seed, batch)
    with stopwatch(device) as sw:
        state = dynamics.init(Q0, force_fn, p, V0=V0, seed=seed)
    f = measure(lambda: force_fn(Q0), repeats, budget_s, device, t_warm=sw.seconds)
    s = measure(lambda: dynamics.step(state, force_fn, p), repeats, budget_s, device, memory=memory)
    B = 1 if batch is None else int(batch)
    mem = {k: v for k, v in s.items() if k.startswith("mem_")}
    return dict(L=int(L), N=int(L * L), B=B, t_force_s=f["t_s"], t_force_min_s=f["t_min_s"], t_step_s=s["t_s"],
                t_step_min_s=s["t_min_s"], site_steps_per_s=B * L * L / s["t_s"], n_force=f["n"], n_step=s["n"], **mem)


def _build(name: str, device: str, dtype: torch.dtype):
    from .. import models

    return models.build(name).to(device=device, dtype=dtype).eval()


def _model_info(model, dtype) -> dict:
    from ..models.cost import macs_per_site

    return dict(kind="model", parameters=int(model.n_parameters()), macs_per_site=macs_per_site(model),
                energy_based=bool(getattr(model, "energy_based", False)), backend=getattr(model, "backend", None),
                dtype=str(dtype))


_D = SPEED_FULL  # the keyword defaults below


def bench_speed(ed_Ls=_D.ed_Ls, Ls=_D.Ls, models=_D.models, max_L=None, kpm: bool = True, kpm_kwargs=None,
                lean: str = "gcn_lean", device: str = "cpu", repeats: int = _D.repeats, budget_s: float = _D.budget_s,
                p: HolsteinParams = PAPER, scaling_Ls=_D.scaling_Ls, reference_Ls=_D.reference_Ls,
                reference_grad: bool = True, ed_vs_lean_L: int | None = _D.ed_vs_lean_L,
                ensemble_L: int = _D.ensemble_L, ensemble_B=_D.ensemble_B, dtype_Ls=_D.dtype_Ls,
                compile: bool = _D.compile, compile_L: int = _D.compile_L, seed: int = 0,
                progress: bool = True) -> dict:
    """Speed and scale of ED, KPM and the ML force fields, measured in one run on ``device``.

    Wall-clock medians (n = clamp(budget_s / t_warm-up, 1, repeats) calls per point); models
    untrained from the registry (the cost does not depend on the weights), float64 unless stated;
    the state float64, PAPER parameters, vv_ou. The JSON-able result holds:

    - ``results``: :func:`time_dynamics` per (method, L) for ED (``ed_Ls``), KPM and ``models``
      (``Ls`` capped by ``max_L`` over ``SPEED_FULL.max_L``); peak memory as ``memory_method``;
    - ``scaling``: t/N of each lean model at ``scaling_Ls``, their ratio and whether it is within
      20 %; ``cost_exponents``: the slope of log t_force against log N over each method's three
      largest sizes;
    - ``reference``: a step of the reference approach (:mod:`holstein.bench.reference`, autograd on
      unless ``reference_grad=False``) against ``lean`` in float64 and float32 at ``reference_Ls``;
      ``ed_vs_lean``: ED against ``lean`` at ``ed_vs_lean_L``;
    - ``ensemble``: B N / t_step of ``lean`` on (B, L, L) states, L = ``ensemble_L``, B in ``ensemble_B``;
    - ``dtype``: force time of each lean model in float64 and float32 at ``dtype_Ls``;
    - ``compile``: ``torch.compile`` of ``lean`` at ``compile_L``, or why it was skipped or failed;
    - ``machine``: :func:`~holstein.bench.timing.machine_record`.
    """
    with machine_record(device) as machine:  # loadavg_after is filled when the last measurement ends
        caps = {**SPEED_FULL.max_L, **(max_L or {})}
        if not device.startswith("cuda"):
            peak_memory(lambda: None)  # the profiler's one-time start-up, outside any measurement
        kpm_kwargs = dict(kpm_kwargs or {})
        Ls, scaling_Ls = sorted({int(L) for L in Ls}), tuple(int(L) for L in scaling_Ls)
        tm = dict(p=p, device=device, repeats=repeats, budget_s=budget_s, seed=seed)
        methods, rows = {}, []

        def sweep(name, fn, sizes):
            for L in tqdm(sizes, desc=f"speed {name}", disable=not progress):
                rows.append(dict(method=name, **time_dynamics(fn, L, **tm)))

        methods["ed"] = dict(kind="exact diagonalization (torch.linalg.eigh)", dtype="torch.float64")
        sweep("ed", lambda Q: ed.forces(Q, p), sorted(ed_Ls))
        if kpm:
            from .. import kpm as kpm_module

            cap = caps.get("kpm")
            methods["kpm"] = dict(kind="kernel polynomial method", kwargs=kpm_kwargs, dtype="torch.float64", status="ok")
            sweep("kpm", lambda Q: kpm_module.forces(Q, p, **kpm_kwargs), [L for L in Ls if cap is None or L <= cap])
        for name in models:
            model = _build(name, device, torch.float64)
            methods[name] = _model_info(model, torch.float64)
            cap = caps.get(name)
            sizes = sorted(set(Ls) | (set(scaling_Ls) if "lean" in name else set()))
            sweep(name, model.as_force_fn(), [L for L in sizes if cap is None or L <= cap])

        res = dict(benchmark="speed", params=p.to_dict(), machine=machine, repeats=repeats,
                   budget_s=budget_s, memory_method=MEMORY_METHOD["cuda" if device.startswith("cuda") else "cpu"],
                   state_dtype="torch.float64", scheme="vv_ou", start=START_CONFIGURATION,
                   methods=methods, results=rows)
        res["scaling"] = _scaling(rows, [m for m in models if "lean" in m], scaling_Ls, lean)
        res["cost_exponents"] = {}
        for name in methods:
            pts = sorted((r["N"], r["t_force_s"]) for r in rows if r["method"] == name)[-3:]
            if len(pts) >= 2:
                b, err = cost_exponent(*zip(*pts))
                res["cost_exponents"][name] = dict(exponent=b, stderr=None if err != err else err,
                                                   N=[n for n, _ in pts])

        lean_fns = {dt: _build(lean, device, dt).as_force_fn() for dt in (torch.float64, torch.float32)}
        res["reference"] = _bench_reference(reference_Ls, lean, lean_fns, reference_grad, tm, progress)
        if ed_vs_lean_L:
            L = int(ed_vs_lean_L)
            t_ed = time_dynamics(lambda Q: ed.forces(Q, p), L, **tm)["t_step_s"]
            t_lean = {str(dt).split(".")[-1]: time_dynamics(fn, L, **tm)["t_step_s"] for dt, fn in lean_fns.items()}
            res["ed_vs_lean"] = dict(L=L, model=lean, t_step_ed_s=t_ed,
                                     **{f"t_step_lean_{k}_s": v for k, v in t_lean.items()},
                                     **{f"speedup_{k}": t_ed / v for k, v in t_lean.items()})
        res["ensemble"] = dict(model=lean, L=int(ensemble_L), results=[
            dict(dtype=str(dt), **time_dynamics(fn, ensemble_L, batch=int(B), **tm))
            for dt, fn in lean_fns.items() for B in tqdm(ensemble_B, desc=f"ensemble {dt}", disable=not progress)])
        res["dtype"] = _bench_dtypes([m for m in models if "lean" in m], dtype_Ls, device, repeats, budget_s, p, seed)
        res["compile"] = (_bench_compile(lean, compile_L, tm) if compile
                          else dict(status="skipped", reason="disabled (compile=False / --no-compile)"))
    return res


def _scaling(rows, names, scaling_Ls, headline) -> dict:
    """Time per site at the two ``scaling_Ls`` and their ratio (large / small) for each model."""
    L1, L2 = scaling_Ls
    out = dict(L_small=L1, L_large=L2, headline=headline, criterion="|ratio - 1| <= 0.2", models={})
    for name in names:
        r = {row["L"]: row for row in rows if row["method"] == name and row["L"] in (L1, L2)}
        if len(r) < 2:
            continue
        d = {}
        for what in ("force", "step"):
            a, b = r[L1][f"t_{what}_s"] / r[L1]["N"], r[L2][f"t_{what}_s"] / r[L2]["N"]
            d.update({f"t_{what}_per_site_small_s": a, f"t_{what}_per_site_large_s": b, f"ratio_{what}": b / a})
        d["within_20pct"] = bool(abs(d["ratio_force"] - 1) <= 0.2)
        out["models"][name] = d
    return out


def _bench_reference(Ls, lean, lean_fns, grad, tm, progress) -> dict:
    """One reference dynamics step against one lean step (float64, float32) at each L."""
    from . import reference as ref  # here, not at the top: ``python -m holstein.bench.reference`` stays clean

    device = tm["device"]
    out = dict(status="ok", source=ref.__name__, grad=grad, lean_model=lean, results=[])
    for L in tqdm(Ls, desc="reference baseline", disable=not progress):
        with stopwatch(device) as sw:
            dyn = ref.setup(int(L), p=tm["p"], seed=tm["seed"], grad=grad, device=device)
        t_setup = sw.seconds
        r = measure(dyn.step, tm["repeats"], tm["budget_s"], device, memory=True)
        row = dict(L=int(L), N=int(L * L), parameters=sum(q.numel() for q in dyn.net.parameters()),
                   t_setup_reference_s=t_setup, t_step_reference_s=r["t_s"], t_step_reference_min_s=r["t_min_s"],
                   n_reference=r["n"], mem_reference_peak_bytes=r.get("mem_peak_bytes"),
                   mem_reference_rss_peak_increase_bytes=r.get("mem_rss_peak_increase_bytes"))
        del dyn
        for dt, fn in lean_fns.items():
            k = str(dt).split(".")[-1]
            s = time_dynamics(fn, int(L), **tm)
            row.update({f"t_step_lean_{k}_s": s["t_step_s"], f"speedup_{k}": r["t_s"] / s["t_step_s"],
                        f"mem_lean_{k}_peak_bytes": s.get("mem_peak_bytes")})
        out["results"].append(row)
    return out


def _bench_dtypes(names, Ls, device, repeats, budget_s, p, seed) -> list:
    """Force time of each model in float64 and float32 (Q in the model's dtype)."""
    rows = []
    for name in names:
        for L in Ls:
            row = dict(model=name, L=int(L), N=int(L * L))
            for dt in (torch.float64, torch.float32):
                fn = _build(name, device, dt).as_force_fn()
                Q = start_configuration(int(L), p, device, seed)[0].to(dt)[None]
                row[f"t_force_{str(dt).split('.')[-1]}_s"] = measure(lambda: fn(Q), repeats, budget_s, device)["t_s"]
            row["speedup_float32"] = row["t_force_float64_s"] / row["t_force_float32_s"]
            rows.append(row)
    return rows


def _bench_compile(name, L, tm) -> dict:
    """``torch.compile`` of a direct-force model at one L: compile time, eager vs compiled timings."""
    out = dict(status="ok", model=name, L=int(L), results=[],
               note="t_compile_s is the first call (Dynamo tracing + Inductor code generation; shorter when "
                    "Inductor's on-disk cache is warm); graph breaks at the models' input checks are expected")
    try:
        for dt in (torch.float64, torch.float32):
            model = _build(name, tm["device"], dt)
            compiled = torch.compile(model)
            fn_c = type(model).as_force_fn(compiled)  # the model's force function, calling the compiled module
            Q = start_configuration(int(L), tm["p"], tm["device"], tm["seed"])[0]
            with stopwatch(tm["device"]) as sw:
                fn_c(Q)
            t_compile = sw.seconds
            eager = time_dynamics(model.as_force_fn(), int(L), memory=False, **tm)
            comp = time_dynamics(fn_c, int(L), memory=False, **tm)
            out["results"].append(dict(dtype=str(dt), t_compile_s=t_compile, t_force_eager_s=eager["t_force_s"],
                                       t_force_compiled_s=comp["t_force_s"], t_step_eager_s=eager["t_step_s"],
                                       t_step_compiled_s=comp["t_step_s"],
                                       speedup_force=eager["t_force_s"] / comp["t_force_s"]))
    except Exception as e:  # noqa: BLE001 - optional: any failure of the compiler is reported, not raised
        out.update(status="failed", reason=f"{type(e).__name__}: {str(e)[:500]}")
    return out


def speed_summary(res: dict) -> str:
    """A plain-text table of a :func:`bench_speed` result (what ``bench speed`` prints)."""
    m = res["machine"]
    lines = [f"{m.get('gpu') or m.get('cpu_model')} ({m.get('device', 'cpu')}, {m['threads']} threads)",
             f"{'method':>16} {'L':>4} {'t_force':>10} {'t_step':>10} {'site-steps/s':>13} {'peak mem':>10}"]
    for r in res["results"]:
        mem = r.get("mem_peak_bytes")
        lines.append(f"{r['method']:>16} {r['L']:4d} {r['t_force_s'] * 1e3:8.2f}ms {r['t_step_s'] * 1e3:8.2f}ms "
              f"{r['site_steps_per_s']:13.4g} {'-' if mem is None else f'{mem / 2**20:7.2f}MiB':>10}")
    sc = res["scaling"]
    for name, d in sc["models"].items():
        lines.append(f"scaling {name}: t/N at L={sc['L_large']} over L={sc['L_small']}: {d['ratio_force']:.3f} (force), "
              f"{d['ratio_step']:.3f} (step); within 20%: {d['within_20pct']}")
    ref = res["reference"]
    for r in ref.get("results", []):
        lines.append(f"reference step at L={r['L']}: {r['t_step_reference_s']:.4g} s; {ref['lean_model']} speedup "
              f"{r['speedup_float64']:.3g}x (float64), {r['speedup_float32']:.3g}x (float32)")
    if ref.get("status") != "ok":
        lines.append(f"reference baseline {ref['status']}: {ref['reason']}")
    if "ed_vs_lean" in res:
        e = res["ed_vs_lean"]
        lines.append(f"ED step at L={e['L']}: {e['t_step_ed_s']:.4g} s; {e['model']} speedup {e['speedup_float64']:.3g}x "
              f"(float64), {e['speedup_float32']:.3g}x (float32)")
    best = max(res["ensemble"]["results"], key=lambda r: r["site_steps_per_s"])
    lines.append(f"ensemble L={res['ensemble']['L']}: best {best['site_steps_per_s']:.4g} site-steps/s at B={best['B']} "
          f"({best['dtype']})")
    for r in res["dtype"]:
        lines.append(f"{r['model']} L={r['L']}: force time float64 / float32 = {r['speedup_float32']:.3g}")
    c = res["compile"]
    lines.append("torch.compile: " + (", ".join(f"{r['dtype']} x{r['speedup_force']:.3g} (compile {r['t_compile_s']:.0f} s)"
                                         for r in c["results"]) if c["status"] == "ok" else
                               f"{c['status']} ({c['reason']})"))
    return "\n".join(lines)
