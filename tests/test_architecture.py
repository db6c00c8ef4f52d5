"""The layers of the code (README, "How the code is organised"), checked on every import.

Each package of `scheduler/` may import only itself and the packages below it; `importer/`
sits above `config/`; `notifiers/` is a leaf that imports nothing of the project. Imports
inside functions count as much as those at the top: a late import is still a dependency.

Tests and benchmarks share helpers through `tests/support/`: no module imports
`tests/conftest.py` (fixtures only) or a test module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ("scheduler", "notifiers", "importer")
# Lowest first. A package may import the packages before it in this list, never after.
LAYERS = (
    "notifiers",
    "scheduler.calendar",
    "scheduler.config",
    "importer",
    "scheduler.plan",
    "scheduler.outbox",
    "scheduler.render",
    "scheduler.dispatch",
    "scheduler.accounts",
    "scheduler.reports",
    "scheduler.api",
    "scheduler.feeds",
    "scheduler.web",
    "scheduler.service",
    "scheduler.cli",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path) -> set[str]:
    """The modules (and names from them) `path` imports, wherever the import statement is."""
    found: set[str] = set()
    package = module_name(path).rpartition(".")[0] if path.name != "__init__.py" else module_name(path)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: `from ..config import loader` in scheduler/calendar/x.py
                parents = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parents, base] if base else parents)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def project_imports(path: Path) -> set[str]:
    """The project modules `path` imports, wherever the import statement is."""
    return {name for name in imported_names(path) if name.split(".")[0] in PROJECT}


MODULES = {
    module_name(path): path
    for package in PROJECT
    for path in sorted((ROOT / package).rglob("*.py"))
    if "migrations" not in path.parts
}
GRAPH = {
    name: {m for m in project_imports(path) if m in MODULES and m != name} for name, path in MODULES.items()
}


def layer(module: str) -> int:
    for index, prefix in enumerate(LAYERS):
        if module == prefix or module.startswith(prefix + "."):
            return index
    raise AssertionError(f"{module} belongs to no layer: add its package to LAYERS and the README")


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_only_its_own_layer_and_those_below(module: str):
    if module in ("scheduler", "scheduler.__main__"):
        return  # the package itself and `python -m scheduler` (the command line)
    upward = sorted(m for m in GRAPH[module] if m not in ("scheduler",) and layer(m) > layer(module))
    assert not upward, f"{module} (layer {LAYERS[layer(module)]}) imports higher layers: {upward}"


def test_notifiers_import_nothing_of_the_project_but_notifiers():
    outside = {
        (name, m) for name in MODULES if name.startswith("notifiers") for m in project_imports(MODULES[name])
    }
    assert not {pair for pair in outside if not pair[1].startswith("notifiers")}


def test_scheduler_holds_only_subpackages():
    files = sorted(p.name for p in (ROOT / "scheduler").iterdir() if p.is_file())
    assert files == ["__init__.py", "__main__.py"]
    packages = {p.name for p in (ROOT / "scheduler").iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert {f"scheduler.{name}" for name in packages} <= set(LAYERS)


def test_no_import_cycle_between_modules():
    """Tarjan's strongly connected components: every component is a single module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in GRAPH[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    assert not cycles


def conftest_or_test_modules(path: Path) -> list[str]:
    """What `path` imports from tests/conftest.py or from a test module (`test_*`)."""
    return sorted(
        name
        for name in imported_names(path)
        if any(part == "conftest" or part.startswith("test_") for part in name.split("."))
    )


def test_no_module_imports_conftest_or_a_test_module():
    """Fixtures stay in tests/conftest.py and pytest finds them there; what modules share (helpers,
    synthetic configurations) is in tests/support/, for tests and bench/ scripts alike."""
    files = sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")])
    wrong = {
        str(path.relative_to(ROOT)): found for path in files if (found := conftest_or_test_modules(path))
    }
    assert not wrong, f"import these from tests/support/ instead: {wrong}"


def test_the_checks_see_a_violation(tmp_path: Path):
    """The import finder reads late and relative imports, so the checks above can fail."""
    module = tmp_path / "scheduler" / "calendar" / "x.py"
    module.parent.mkdir(parents=True)
    module.write_text("def f():\n    from scheduler.cli.app import app\n    from ..config import loader\n")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        found = project_imports(module)
    finally:
        ROOT = saved
    assert {"scheduler.cli.app", "scheduler.config.loader"} <= found
    assert layer("scheduler.cli.app") > layer("scheduler.calendar.x")
    helper = tmp_path / "tests" / "support" / "x.py"
    helper.parent.mkdir(parents=True)
    helper.write_text("from tests import test_a as kit\n\ndef f():\n    from ..conftest import b\n")
    saved, ROOT = ROOT, tmp_path
    try:
        assert conftest_or_test_modules(helper) == ["tests.conftest", "tests.conftest.b", "tests.test_a"]
    finally:
        ROOT = saved
