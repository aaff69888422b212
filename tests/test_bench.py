"""Tests of holstein.bench (structure only: no timed asserts)."""
import json

import numpy as np
import pytest
import torch

from holstein import bench, models


def test_bench_models_structure(tmp_path):
    res = bench.bench_models(["gcn_lean", models.build("bp_mlp_lean")], Ls=(4, 6), repeats=1, ed_max_L=4,
                             max_L={"bp_mlp_lean": 4}, progress=False)
    assert set(res["models"]) == {"gcn_lean", "bp_mlp_lean"}
    assert res["models"]["gcn_lean"]["parameters"] == models.build("gcn_lean").n_parameters()
    got = {(r["model"], r["L"]) for r in res["results"]}
    assert got == {("gcn_lean", 4), ("gcn_lean", 6), ("bp_mlp_lean", 4), ("ed", 4)}
    assert all(r["t_s"] > 0 and r["N"] == r["L"] ** 2 for r in res["results"])
    path = bench.write_json(res, tmp_path / "models.json")
    assert json.loads(path.read_text())["benchmark"] == "force_evaluation"


def test_bench_models_energy_model_runs():
    res = bench.bench_models({"e": models.build("energy_gnn_lean")}, Ls=(4,), repeats=1, ed_max_L=0, progress=False)
    assert res["models"]["e"]["energy_based"] is True
    assert [r["model"] for r in res["results"]] == ["e"]


@pytest.mark.parametrize("name", models.available())
def test_model_flops_per_site_positive(name):
    lean = "lean" in name
    if not lean and name != "gcn":
        pytest.skip("building the huge reference models is slow; gcn covers them")
    m = models.build(name)
    f = bench.model_flops_per_site(m)
    assert isinstance(f, int) and f > 0
    linear = sum(l.in_features * l.out_features for l in m.modules() if isinstance(l, torch.nn.Linear))
    assert f >= linear


def test_cost_exponent():
    N = np.array([64, 256, 1024])
    b, err = bench.cost_exponent(N, 1e-9 * N ** 3.0)
    assert b == pytest.approx(3.0) and err == pytest.approx(0.0, abs=1e-9)
    b, err = bench.cost_exponent(N[:2], N[:2] * 2.0)
    assert b == pytest.approx(1.0) and np.isnan(err)
    with pytest.raises(ValueError):
        bench.cost_exponent([4], [1.0])
