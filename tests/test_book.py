"""Structure of the book: every chapter in the TOC, the Colab setup cell, one repository URL."""
import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _notebooks():
    return sorted((ROOT / "book").glob("*.ipynb"))


def test_toc_lists_every_notebook_in_order():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for c in toc["chapters"]]
    nbs = [f"book/{p.stem}" for p in _notebooks()]
    assert [f for f in files if f in nbs] == nbs  # all notebooks, in reading order
    assert all((ROOT / (f + ".ipynb")).exists() or (ROOT / (f + ".md")).exists() for f in files)


def test_first_cell_sets_up_colab_device_and_profile_with_the_configured_repository():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    assert yaml.safe_load((ROOT / "_config.yml").read_text())["launch_buttons"]["colab_url"]
    for path in _notebooks():
        first = json.loads(path.read_text())["cells"][0]
        src = "".join(first["source"])
        assert "hide-cell" in first["metadata"].get("tags", []), path.name
        assert '"google.colab" in sys.modules' in src and "setup()" in src, path.name
        assert f"git+{url}" in src, f"{path.name} installs from another repository than _config.yml names"


def test_no_size_literals_in_profile_driven_calls():
    """Sizes come from PROFILE: calls that take a lattice size or step count never get a bare number."""
    pattern = re.compile(r"\b(L|n_steps|steps|epochs)\s*=\s*\d+\s*([,)#]|$)")
    for path in _notebooks():
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code" and not "".join(cell["source"]).startswith("# NBVAL"):
                for line in "".join(cell["source"]).splitlines():
                    assert not pattern.search(line), \
                        f"{path.name}: size literal in {line.strip()!r}"
