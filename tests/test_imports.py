"""The package's imports: a graph without cycles, no import tucked into a function to dodge one,
and ``import tinygrad_dropbn`` working with NumPy alone, loading no drawing, plotting or
progress-bar library.

The graph is read from the source with ``ast`` (nothing is imported), so a cycle is reported
even when the current import order happens to get away with it.
"""
import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = "tinygrad_dropbn"
ROOT = Path(importlib.util.find_spec(PACKAGE).submodule_search_locations[0])
OPTIONAL = ("graphviz", "matplotlib", "tqdm", "sklearn")
"""Third-party libraries some features use; each must be imported where it is used."""
ENTRY_POINTS = (PACKAGE, f"{PACKAGE}.cli", f"{PACKAGE}.lab")


def module_files() -> dict[str, Path]:
    """Every module of the package by dotted name; a package's name is its ``__init__.py``."""
    modules = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = (PACKAGE, *path.relative_to(ROOT).with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = module_files()


def top_level_imports(tree: ast.Module) -> list[ast.stmt]:
    """The imports that run when the module is imported: at top level, and inside ``if``
    (``TYPE_CHECKING`` included: type checkers follow those imports too), ``try``, ``with`` and
    class bodies; not inside functions."""
    found, pending = [], list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            pending.extend(ast.iter_child_nodes(node))
    return found


def function_imports(tree: ast.Module) -> list[ast.stmt]:
    """The imports inside function bodies, which run only when the function is called."""
    return [node for function in ast.walk(tree)
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef))
            for node in ast.walk(function) if isinstance(node, (ast.Import, ast.ImportFrom))]


def named_modules(importer: str, node: ast.stmt) -> list[str]:
    """The absolute names of the modules an import statement in ``importer`` names: each
    ``a.b`` of ``import a.b``; the ``a.b`` of ``from a.b import x``, relative ones resolved."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not node.level:
        return [node.module]
    base = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    return [f"{base}.{node.module}" if node.module else base]


def imported_modules(importer: str, node: ast.stmt) -> set[str]:
    """The package's modules whose code must have run for the import ``node`` in ``importer``
    to succeed.

    ``import a.b.c`` and ``from a.b.c import x`` also run the packages ``a`` and ``a.b``,
    except those the importer lives in (they are already being imported when it runs);
    ``from a import b`` needs the submodule ``a.b`` when there is one, else ``a`` itself.
    """
    needed = set()
    for module in named_modules(importer, node):
        needed |= _with_parents(importer, module)
        if isinstance(node, ast.Import):
            needed.add(module)
        else:
            needed |= {f"{module}.{alias.name}" if f"{module}.{alias.name}" in MODULES else module
                       for alias in node.names}
    return {name for name in needed if name in MODULES and name != importer}


def _with_parents(importer: str, module: str) -> set[str]:
    """``module`` and the packages above it, less those ``importer`` is part of."""
    parts = module.split(".")
    names = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    return {name for name in names if name in MODULES and not _is_within(importer, name)}


def _is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def import_graph() -> dict[str, dict[str, str]]:
    """For each module, the modules it imports at import time, each with where (file:line)."""
    graph: dict[str, dict[str, str]] = {name: {} for name in MODULES}
    for name, path in MODULES.items():
        for node in top_level_imports(ast.parse(path.read_text(), str(path))):
            for target in imported_modules(name, node):
                graph[name].setdefault(target, f"{path.relative_to(ROOT.parent)}:{node.lineno}")
    return graph


def find_cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """One shortest cycle through each strongly connected group of modules (Kosaraju)."""
    order, seen = [], set()
    for start in sorted(graph):
        if start in seen:
            continue
        seen.add(start)
        stack = [(start, iter(sorted(graph[start])))]
        while stack:
            node, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                order.append(node)
                stack.pop()
            elif target not in seen:
                seen.add(target)
                stack.append((target, iter(sorted(graph[target]))))
    reverse: dict[str, set[str]] = {name: set() for name in graph}
    for name, targets in graph.items():
        for target in targets:
            reverse[target].add(name)
    group_of: dict[str, int] = {}
    for start in reversed(order):
        if start in group_of:
            continue
        group_of[start], pending = start, [start]
        while pending:
            for source in reverse[pending.pop()]:
                if source not in group_of:
                    group_of[source] = start
                    pending.append(source)
    cycles = []
    for leader in sorted(set(group_of.values())):
        members = {name for name, group in group_of.items() if group == leader}
        start = min(members)
        paths, frontier = {start: [start]}, [start]
        while frontier and start not in graph[frontier[0]]:
            node = frontier.pop(0)
            for target in sorted(graph[node]):
                if target in members and target not in paths:
                    paths[target] = paths[node] + [target]
                    frontier.append(target)
        if frontier:
            cycles.append(paths[frontier[0]] + [start])
    return cycles


def describe(cycle: list[str], graph: dict[str, dict[str, str]]) -> str:
    return "\n".join([" -> ".join(cycle)] + [f"    {a} -> {b}  ({graph[a][b]})"
                                              for a, b in zip(cycle, cycle[1:])])


def test_the_import_graph_has_no_cycles():
    graph = import_graph()
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(describe(c, graph) for c in cycles)


def test_the_cycle_finder_sees_a_cycle_and_its_absence():
    graph = {"a": {"b": "a.py:1"}, "b": {"c": "b.py:1"}, "c": {"a": "c.py:1"}, "d": {"a": ""}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    del graph["c"]["a"]
    assert find_cycles(graph) == []


def test_the_graph_resolves_relative_absolute_and_package_imports():
    graph = import_graph()
    cli, lab, backends = (graph[f"{PACKAGE}.{name}"] for name in ("cli.main", "lab",
                                                                  "lab.backends"))
    assert f"{PACKAGE}.data" in cli  # `from .. import data`: a submodule
    assert f"{PACKAGE}.cli.models" in cli  # `from .models import ...`
    assert {f"{PACKAGE}.lab", f"{PACKAGE}.lab.core"} <= lab.keys() | cli.keys()
    assert PACKAGE in cli  # `import tinygrad_dropbn as tg`
    assert f"{PACKAGE}.training" in backends  # `from .. import ..., training`
    assert not any(name.startswith(f"{PACKAGE}.cli") for name in lab)  # the lab needs no CLI
    assert f"{PACKAGE}.lab" not in backends  # its own package is already being imported


def test_no_function_imports_a_module_of_the_package():
    # A function-level import of our own code is how a cycle hides from the graph above;
    # functions may import only optional third-party libraries (matplotlib, tqdm, ...).
    hidden = [f"{path.relative_to(ROOT.parent)}:{node.lineno}"
              for name, path in MODULES.items()
              for node in function_imports(ast.parse(path.read_text(), str(path)))
              if any(_is_within(module, PACKAGE) for module in named_modules(name, node))]
    assert not hidden, "imports of the package inside functions: " + ", ".join(hidden)


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT.parent, timeout=120)


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_importing_loads_no_optional_library(module):
    done = run_python(f"import sys, {module}\n"
                      f"print(sorted(set({OPTIONAL!r}) & set(sys.modules)))")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", f"`import {module}` loaded {done.stdout.strip()}"


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_importing_needs_numpy_alone(module):
    # Every third-party top-level module but NumPy is made unimportable, as on a machine where
    # only NumPy is installed.
    done = run_python(
        "import importlib.abc, sys\n"
        "class NumpyOnly(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        top = name.partition('.')[0]\n"
        f"        if top not in sys.stdlib_module_names | {{'numpy', {PACKAGE!r}}}:\n"
        "            raise ModuleNotFoundError(f'No module named {name!r} (numpy only)')\n"
        "sys.meta_path.insert(0, NumpyOnly())\n"
        f"import {module}\n")
    assert done.returncode == 0, f"`import {module}` with NumPy alone:\n{done.stderr}"
