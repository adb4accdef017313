"""The package's shape, checked on its source: the rules of STYLE.md that a reader relies on.

At most 15 top-level modules and 20 modules a folder, no file over 400 lines, no import
cycle (imports inside functions count, and so does importing a package's ``__init__``), no
private name imported from another module, no ``getattr`` guessing at a target's fields.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "compressor"
MAX_TOP_LEVEL_MODULES = 15
MAX_MODULES_PER_FOLDER = 20
MAX_LINES = 400
# A target profile as the code names it: target, profile, context.target, getattr(target, ...), ...
_TARGET_LIKE = re.compile(r"^(getattr\()?((context|self)\.)?(target|profile)\b")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in PACKAGE.rglob("*.py")}


def imports(name: str, path: Path, known: dict[str, Path]) -> list[tuple[str, tuple[str, ...]]]:
    """(module imported, names taken from it) for every import of a compressor module in ``path``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("compressor"):
                continue
            names = []
            for alias in node.names:
                if f"{target}.{alias.name}" in known:  # `from package import submodule`
                    found.append((f"{target}.{alias.name}", ()))
                else:
                    names.append(alias.name)
            if names:
                found.append((target, tuple(names)))
        elif isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names if alias.name.startswith("compressor")]
    return found


def test_top_level_and_folders_stay_small():
    top = [path for path in PACKAGE.glob("*.py")]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, sorted(path.name for path in top)
    for folder in [PACKAGE, *(path for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__")]:
        count = len(list(folder.glob("*.py")))
        assert count <= MAX_MODULES_PER_FOLDER, f"{folder.name}/ holds {count} modules"


def test_no_file_over_the_line_limit():
    long = {name: len(path.read_text().splitlines()) for name, path in modules().items()}
    assert {name: lines for name, lines in long.items() if lines > MAX_LINES} == {}


def test_no_private_name_is_imported_across_modules():
    known = modules()
    private = [(name, target, imported) for name, path in known.items()
               for target, names in imports(name, path, known) for imported in names
               if imported.startswith("_") and not imported.startswith("__")]
    assert private == [], "\n".join(map(str, private))


def test_no_import_cycle():
    known = modules()
    graph = {name: {target for target, _ in imports(name, path, known) if target in known and target != name}
             for name, path in known.items()}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                cycles.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert cycles == [], "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_no_getattr_guessing_at_a_target():
    guesses = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                    and node.args and _TARGET_LIKE.match(ast.unparse(node.args[0]))):
                guesses.append(f"{name}:{node.lineno} {ast.unparse(node)}")
    assert guesses == [], "\n".join(guesses)


def test_a_package_missing_from_discovery_would_be_caught():
    """setup.py finds every package under compressor/: each folder with modules has an __init__."""
    for folder in PACKAGE.rglob("*"):
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py")):
            assert (folder / "__init__.py").is_file(), f"{folder} has modules but no __init__.py"
