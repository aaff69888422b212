"""The Force value and load_force: resolution, fingerprints, validity."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from holstein import ed, force
from holstein.params import PAPER

ROOT = Path(__file__).resolve().parents[1]


def test_ed_force_is_ed_at_the_callers_parameters():
    p = PAPER.replace(g=2.0, kT=0.3)
    f = force.load_force("ed", p)
    Q = torch.randn(2, 4, 4)
    torch.testing.assert_close(f(Q), ed.forces(Q, p), rtol=0, atol=0)
    assert f.id == ed.force_id(p) and f.trained is None
    f.check(PAPER.replace(g=7.0, kT=5.0))  # ED is valid for any parameters


def test_ed_refuses_float32():
    with pytest.raises(ValueError, match="float64 only"):
        force.load_force("ed", precision="float32")


def test_a_committed_model_by_name_and_its_validity():
    f = force.load_force("gcn_lean_mu_L24")
    assert f.id.startswith("model:gcn_lean_mu:") and len(f.id.split(":")[-1]) == 16
    assert f.params.kT == pytest.approx(0.1) and f.kT_range == (0.1, 0.1)
    # bath parameters do not enter a force
    force.load_force("gcn_lean_mu_L24", PAPER.replace(gamma=0.5, dt=0.02, mass=3.0))
    for bad, word in ((dict(g=2.0), "g=2 was asked"), (dict(kT=3.0), "kT=3 was asked"),
                      (dict(kappa=0.1), "kappa=0.1 was asked")):
        with pytest.raises(ValueError, match=word) as e:
            force.load_force("gcn_lean_mu_L24", PAPER.replace(**bad))
        assert "valid for t=1, g=3.5, k=1, kappa=0.18, kT=0.1" in str(e.value) and "\n" not in str(e.value)


def test_registered_name_finds_the_L24_model_and_paths_work(tmp_path):
    by_name = force.load_force("gcn_lean")
    by_folder = force.load_force(str(ROOT / "holstein/artifacts/models/gcn_lean_L24"))
    by_file = force.load_force(str(ROOT / "holstein/artifacts/models/gcn_lean_L24/best.pt"))
    assert by_name.id == by_folder.id == by_file.id
    with pytest.raises(ValueError, match="unknown force 'nosuch'.*gcn_lean_mu_L24_extra"):
        force.load_force("nosuch")
    with pytest.raises(ValueError, match="no best.pt"):
        force.load_force(str(tmp_path))


def test_float32_appends_to_the_id_and_keeps_float64_output():
    f64 = force.load_force("gcn_lean_L24")
    f32 = force.load_force("gcn_lean_L24", precision="float32")
    assert f32.id == f64.id + ":float32" and f32.dtype == torch.float32
    Q = 3 * torch.randn(8, 8)
    F = f32(Q)
    assert F.dtype == torch.float64
    torch.testing.assert_close(F, f64(Q), rtol=1e-4, atol=1e-4)


def test_lattice_is_checked(tmp_path):
    """A square model refuses honeycomb parameters and a honeycomb model square ones, in one line."""
    with pytest.raises(ValueError, match="on the square lattice; the honeycomb lattice was asked for$"):
        force.load_force("gcn_lean_L24", PAPER.replace(lattice="honeycomb"))
    from holstein import models

    hc = PAPER.replace(lattice="honeycomb")
    net = models.build("gcn_lean_mu", physics=hc.to_dict()).double()
    torch.save(dict(model="gcn_lean_mu", model_config=net.config(), state_dict=net.state_dict(), params=hc.to_dict()),
               tmp_path / "hc.pt")
    f = force.load_force(str(tmp_path / "hc.pt"), hc)
    assert f.lattice == "honeycomb" and f(torch.zeros(3, 3, 2, dtype=torch.float64)).shape == (3, 3, 2)
    with pytest.raises(ValueError, match="on the honeycomb lattice; the square lattice was asked for$"):
        force.load_force(str(tmp_path / "hc.pt"), PAPER)
    assert force.load_force("ed", hc).lattice == "honeycomb"


def test_every_committed_model_resolves_without_a_profile_and_makes_no_file(tmp_path):
    """Resolving by name never trains or generates anything (in a fresh process, no HOLSTEIN_PROFILE)."""
    env = {k: v for k, v in os.environ.items() if k != "HOLSTEIN_PROFILE"}
    env["HOLSTEIN_CACHE"] = str(tmp_path / "cache")
    code = ("import holstein.catalog as c, holstein.force as f\n"
            "names = sorted(c.committed_models())\n"
            "assert len(names) >= 10, names\n"
            "for n in names: f.load_force(n)\n"
            "print(len(names))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert list(tmp_path.iterdir()) == []  # no cache, no dataset, no run folder
