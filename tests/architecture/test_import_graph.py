"""The package's imports flow one way: api -> results -> engines -> model -> design / optim.

Utilities at the top of the package (exceptions, _checks, formula, parallel, datasets) may be
imported from anywhere. The two engine packages never import each other: what both need
(the conditional mode of u) lives in ``engines/modes.py``.
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "mcglmm"
RANK = {"api": 4, "results": 3, "engines": 2, "model": 1, "design": 0, "optim": 0}


def _module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path):
    """Absolute dotted names (as part lists) of mcglmm modules imported by one file."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = (package[:len(package) - node.level + 1] if node.level else [])
            target = base + (node.module.split(".") if node.module else [])
            if target and target[0] == "mcglmm":
                yield target, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mcglmm":
                    yield alias.name.split("."), []


def _edges():
    for path in PACKAGE.rglob("*.py"):
        source = _module_name(path)
        for target, names in _imports(path):
            targets = [target] if len(target) > 2 or not names else \
                [target + [name] for name in names]
            for t in targets:
                yield source, t


def _room(parts):
    return parts[1] if len(parts) > 1 else None


def _engine_package(parts):
    """'mcla' or 'quadrature' for modules inside one engine package, else None."""
    if len(parts) > 3 and parts[1] == "engines" and parts[2] in ("mcla", "quadrature"):
        return parts[2]
    return None


def test_layers_import_only_downwards():
    wrong = []
    for source, target in _edges():
        a, b = _room(source), _room(target)
        if a in RANK and b in RANK and a != b and not RANK[a] > RANK[b]:
            wrong.append(f"{'.'.join(source)} -> {'.'.join(target)}")
        if a in ("design", "optim") and b in ("design", "optim") and a != b:
            wrong.append(f"{'.'.join(source)} -> {'.'.join(target)}")
    assert not wrong, "imports against the flow:\n" + "\n".join(sorted(set(wrong)))


def test_engine_packages_do_not_import_each_other():
    crossing = [f"{'.'.join(s)} -> {'.'.join(t)}" for s, t in _edges()
                if _engine_package(s) and _engine_package(t)
                and _engine_package(s) != _engine_package(t)]
    assert not crossing, "\n".join(sorted(set(crossing)))


def test_the_walker_sees_real_edges():
    assert _engine_package("mcglmm engines mcla objective".split()) == "mcla"
    assert _engine_package("mcglmm engines modes".split()) is None
    edges = {(".".join(s), ".".join(t)) for s, t in _edges()}
    assert ("mcglmm.api.meglm", "mcglmm.engines.quadrature.objective") in edges \
        or any(s == "mcglmm.api.meglm" and t.startswith("mcglmm.engines") for s, t in edges)
