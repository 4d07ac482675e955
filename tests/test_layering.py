"""The house stands the right way up: every import (module-level and inside functions) is read from the
source, and none may run upwards, sideways between stages, through importlib, or round in a circle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Floors, bottom up. A package may import its own floor's package and any package below it; the stages on
# one floor never import each other.
FLOORS: dict[str, int] = {
    "common": 0,
    "storage": 1,
    "ingest": 2,
    "cluster": 2,
    "alerts": 2,
    "scooptrace": 3,
    "app": 4,
}


def project_modules() -> Iterator[tuple[str, Path]]:
    for package in FLOORS:
        folder = ROOT / package
        if folder.is_dir():
            for path in sorted(folder.rglob("*.py")):
                parts = path.relative_to(ROOT).with_suffix("").parts
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                yield name, path
        elif (ROOT / f"{package}.py").is_file():
            yield package, ROOT / f"{package}.py"


def imports_of(path: Path, module: str) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import statement anywhere in the file, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, node.lineno
            for alias in node.names:  # ``from package import module``
                yield f"{base}.{alias.name}", node.lineno


def dynamic_imports(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                lines.append(node.lineno)
    return lines


def test_no_import_runs_upwards_or_sideways() -> None:
    problems = []
    for module, path in project_modules():
        own = module.split(".")[0]
        for imported, line in imports_of(path, module):
            target = imported.split(".")[0]
            if target not in FLOORS or target == own:
                continue
            if FLOORS[target] >= FLOORS[own]:
                kind = "sideways" if FLOORS[target] == FLOORS[own] else "upwards"
                problems.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {imported} ({kind})")
    assert problems == []


def test_no_dynamic_imports() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for _module, path in project_modules()
        for line in dynamic_imports(path)
    ]
    assert found == []


def test_no_import_cycles() -> None:
    modules = dict(project_modules())
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for imported, _line in imports_of(path, name):
            if imported in modules and imported != name:
                graph[name].add(imported)
    cycles = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert cycles == []


def test_the_walker_sees_function_level_imports(tmp_path: Path) -> None:
    """The rules would be toothless if an import inside a function went unseen."""
    sample = tmp_path / "mod.py"
    sample.write_text(
        "def f():\n    from scooptrace.cli import main\n    import importlib\n", encoding="utf-8"
    )
    assert ("scooptrace.cli", 2) in set(imports_of(sample, "ingest.mod"))
    sample.write_text("import importlib\nm = importlib.import_module('x')\n", encoding="utf-8")
    assert dynamic_imports(sample) == [2]


# The stages' SQL lives in storage/ (CONVENTIONS 14): they pass plain data to storage's functions and never
# run a statement themselves. (On the top floor scooptrace/demo/replay.py and the SQL sandbox still do.)
STAGES_WITHOUT_SQL = ("ingest", "cluster", "alerts")


def statements_run(path: Path) -> list[int]:
    """Lines that call ``.execute(`` / ``.executemany(`` / ``.sql(`` / ``.query(`` on anything."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("execute", "executemany", "sql", "query")
    ]


def test_the_stages_run_no_sql_of_their_own() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in STAGES_WITHOUT_SQL
        for path in sorted((ROOT / package).rglob("*.py"))
        for line in statements_run(path)
    ]
    assert found == []
    # the check itself sees a statement where there is one
    assert statements_run(ROOT / "storage" / "stories.py")
