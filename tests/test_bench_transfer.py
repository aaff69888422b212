"""Tests of holstein.bench.transfer: the ML-vs-KPM force check on a (here tiny) quench."""
import numpy as np
import pytest
import torch

from holstein import ed, kpm, quench
from holstein.params import PAPER
from holstein.train import force_metrics
from holstein.bench.transfer import transfer_check

L, STEPS, EVERY, KPM = 8, 4, 2, dict(probe_distance=4, tol=1e-6)


def exact(Q):
    return ed.forces(Q, PAPER)


def wrong(Q):  # ED forces plus a known error: a staggered field of RMS exactly 0.1 plus a ramp
    x = torch.arange(Q.shape[-1], dtype=Q.dtype)
    return exact(Q) + 0.1 * (-1.0) ** (x[:, None] + x[None, :]) + 0.01 * x[:, None]


@pytest.fixture(scope="module")
def result():
    return transfer_check({"ed": exact, "wrong": wrong}, L=L, n_steps=STEPS, every=EVERY, driver="ed",
                          kpm_kwargs=KPM, progress=False)


def test_snapshots_and_settings(result):
    assert [s["time"] for s in result["snapshots"]] == pytest.approx([0.1, 0.2])  # the hot start is skipped
    assert result["L"] == L and result["driver"] == "ed" and result["kpm"] == KPM
    assert all(s["n_moments"] > 0 and s["t_kpm_s"] > 0 for s in result["snapshots"])
    m = result["machine"]  # the one machine record: load before and after the check
    assert len(m["loadavg_before"]) == len(m["loadavg_after"]) == 3 and m["device"] == "cpu"


def test_exact_forces_have_no_error(result):
    """KPM forces are near ED's (probing distance 4: errors ~1e-3): ED itself has ~0 error, the known
    error of the wrong force field is found."""
    assert result["models"]["ed"]["all"]["rmse"] < 3e-3
    assert result["models"]["ed"]["all"]["rmse_over_std"] < 1e-3
    w = result["models"]["wrong"]
    assert w["all"]["rmse"] == pytest.approx(np.sqrt(0.1 ** 2 + np.mean((0.01 * np.arange(L)) ** 2)), rel=2e-2)
    assert w["all"]["max_abs"] == pytest.approx(0.1 + 0.07, rel=5e-2)


def test_errors_are_force_metrics_of_kpm_and_model(result):
    """The error measure is train.force_metrics(F_KPM, F_model), per snapshot and over all of them."""
    _, run = quench.run(exact, L, [0], PAPER, STEPS, EVERY, snapshots=True, progress=False)  # the same quench
    Qs = torch.as_tensor(run["Q"][1:, 0])  # (2, L, L)
    F_kpm = np.stack([kpm.forces(Q, PAPER, **KPM).numpy() for Q in Qs])
    F = np.stack([wrong(Q).numpy() for Q in Qs])
    got = result["models"]["wrong"]
    for key, value in force_metrics(F_kpm, F).items():
        assert got["all"][key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    for snap, Fk, Fm in zip(got["snapshots"], F_kpm, F):
        assert snap == pytest.approx(force_metrics(Fk, Fm), rel=1e-9, abs=1e-12)
    assert {"rmse", "max_abs", "force_std", "rmse_over_std"} <= set(got["all"])
