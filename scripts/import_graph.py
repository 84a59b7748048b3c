"""Print which module imports which, grouped by layer, and check that layers point one way.

    deployments → flows → tasks → seamline

Fails (exit 1) when a module imports upward (seamline importing tasks, flows or
deployments; tasks importing flows or deployments; flows importing deployments), when a
task or flow imports ``seamline.stack`` (the local stack is resolved upstream and passed
in), or when modules import each other in a cycle at import time. Imports inside functions
count for the layer rules but not for cycles: deferring an import is how a module breaks one.

Usage: python scripts/import_graph.py [ROOT]   (ROOT: the checkout, default: this one)
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LAYERS = ("deployments", "flows", "tasks", "seamline")  # outermost first
RANK = {name: len(LAYERS) - i for i, name in enumerate(LAYERS)}
STACK = "seamline.stack"


@dataclass
class Module:
    name: str
    imports: set[str] = field(default_factory=set)  # every internal import
    eager: set[str] = field(default_factory=set)  # those that run at import time


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(root: Path, name: str, member: str) -> str:
    """``from name import member``: the submodule when ``member`` is one, else ``name``."""
    candidate = f"{name}.{member}"
    base = root.joinpath(*candidate.split("."))
    return candidate if base.with_suffix(".py").is_file() or base.is_dir() else name


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(node: ast.AST, eager: bool) -> Iterator[tuple[ast.AST, bool]]:
    """Every node with whether it runs at import time (not in a function body, not under
    ``if TYPE_CHECKING``)."""
    for child in ast.iter_child_nodes(node):
        runs_now = eager and not isinstance(
            child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        )
        if isinstance(child, ast.If) and _is_type_checking(child):
            runs_now = False
        yield child, runs_now
        yield from _walk(child, runs_now)


def read_module(root: Path, path: Path) -> Module:
    name = module_name(root, path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    module = Module(name)
    for node, eager in _walk(ast.parse(path.read_text(), filename=str(path)), True):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [_resolve(root, base, alias.name) for alias in node.names]
        for target in targets:
            if target.split(".")[0] in RANK and target != name:
                module.imports.add(target)
                if eager:
                    module.eager.add(target)
    return module


def read_tree(root: Path) -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for layer in LAYERS:
        for path in sorted((root / layer).rglob("*.py")):
            module = read_module(root, path)
            modules[module.name] = module
    return modules


def layer_of(name: str) -> str:
    return name.split(".")[0]


def layer_problems(modules: dict[str, Module]) -> list[str]:
    problems = []
    for module in modules.values():
        layer = layer_of(module.name)
        for target in sorted(module.imports):
            if RANK[layer_of(target)] > RANK[layer]:
                problems.append(f"upward import: {module.name} ({layer}) imports {target}")
            if layer in ("tasks", "flows") and (target == STACK or target.startswith(STACK + ".")):
                problems.append(f"{module.name} imports {target}: the stack is not for {layer}")
    return problems


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Import-time cycles (Tarjan's strongly connected components of two or more)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        on_stack.add(name)
        for target in sorted(modules[name].eager):
            if target not in modules:
                continue
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in on_stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == name:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(modules):
        if name not in index:
            visit(name)
    return found


def render(modules: dict[str, Module]) -> str:
    lines = []
    for layer in LAYERS:
        lines.append(f"[{layer}]")
        for name in sorted(n for n in modules if layer_of(n) == layer):
            imports = sorted(modules[name].imports)
            lines.append(f"  {name} → {', '.join(imports) if imports else '(nothing internal)'}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parents[1]
    modules = read_tree(root)
    print(render(modules))
    problems = layer_problems(modules)
    problems += [f"import cycle: {' → '.join(c)}" for c in cycles(modules)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    raise SystemExit(main(sys.argv))
