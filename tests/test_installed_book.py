"""Every chapter runs against a non-editable install, from a folder outside the repository.

This is how readers run the book on Colab: the first cell pip-installs the package from git, so the
notebooks see only what the package ships (``holstein/artifacts``), never ``benchmarks/`` or the
checkout. Here the repository's tracked files are copied to a temporary folder (what ``pip install
git+...`` clones), installed with ``pip install --target`` into a site folder put first on the
kernel's ``PYTHONPATH``, and each notebook is executed at the ``book`` profile in a folder of its own.
A chapter fails on any error and on any output that says a file "is not here".
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))
pytestmark = pytest.mark.slow


def _tracked_copy(dest: Path) -> Path:
    """The repository's tracked files (working-tree versions) under ``dest``: what a git clone has."""
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True
                           ).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    return dest


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """``(site, env)``: the package installed non-editably into ``site``, and the environment whose
    kernels import it from there (checked), at the ``book`` profile."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    base = tmp_path_factory.mktemp("installed")
    src, site = _tracked_copy(base / "src"), base / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                    "--target", str(site), str(src)], check=True)
    env = dict(os.environ, PYTHONPATH=str(site), HOLSTEIN_PROFILE="book", MPLBACKEND="Agg")
    env.pop("HOLSTEIN_CACHE", None)
    where = subprocess.run([sys.executable, "-c", "import holstein.catalog as c; print(c.__file__)"],
                           env=env, cwd=base, capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(site), f"the kernel would import {where}, not the install"
    return site, env


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_chapter_runs_from_the_installed_package(path, installed, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    site, env = installed
    for key, value in env.items():  # the kernel inherits this process's environment
        monkeypatch.setenv(key, value)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    texts = ["".join(o.get("text", "")) + "".join(str(v) for v in o.get("data", {}).values())
             for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    missing = [t.strip()[:200] for t in texts if "is not here" in t]
    assert not missing, f"{path.name} misses files in the installed package: {missing}"
