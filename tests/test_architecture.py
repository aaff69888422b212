"""The import rules of the package (../shared/ARCHITECTURE.md): physics modules import no models,
train or torch_geometric; dynamics knows no model and no ED; no import cycles; no module over 400 lines."""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "holstein"
PHYSICS = ("ed", "kpm", "forces", "filling", "dynamics", "observables", "lattice", "params")


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Top-level holstein modules (and torch_geometric) that ``path`` imports, anywhere in the file."""
    mod = _module(path)
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for n in names:
            if n.startswith("torch_geometric"):
                out.add("torch_geometric")
            elif n.startswith("holstein."):
                out.add(n.split(".")[1])
    return out - {_module(path).split(".")[1] if "." in _module(path) else ""}


FILES = sorted(p for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("name", PHYSICS)
def test_physics_modules_import_no_models_train_or_pyg(name):
    paths = [PKG / f"{name}.py"] if (PKG / f"{name}.py").exists() else sorted((PKG / name).glob("*.py"))
    for p in paths:
        bad = _imports(p) & {"models", "train", "torch_geometric", "artifacts", "data", "coarsening"}
        assert not bad, f"{p.name} imports {bad}"
    if name == "dynamics":
        assert not any(_imports(p) & {"ed", "kpm"} for p in paths)


def test_no_import_cycles_between_top_level_modules():
    graph = {}
    for p in FILES:
        top = _module(p).split(".")[1] if "." in _module(p) else None
        if top:
            graph.setdefault(top, set()).update(_imports(p) - {"torch_geometric", top})
    state = {}

    def visit(n, stack):
        state[n] = "open"
        for m in graph.get(n, ()):
            assert state.get(m) != "open", f"import cycle: {' -> '.join(stack + [n, m])}"
            if m not in state:
                visit(m, stack + [n])
        state[n] = "done"

    for n in graph:
        if n not in state:
            visit(n, [])


def test_no_module_over_400_lines():
    long = {p.relative_to(PKG).as_posix(): n for p in FILES if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long
