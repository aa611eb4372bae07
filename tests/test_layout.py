"""The house keeps its shape: no import circles in ``hotline/``, imports point one way, and
each package says what lives in it. Read from the source, so imports inside functions and
under ``TYPE_CHECKING`` count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENGINE_PACKAGES = ("asr", "translate", "tts")


def modules(package: str) -> dict[str, Path]:
    root = REPO / package
    found = {}
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(REPO).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports_of(path: Path, module: str) -> set[str]:
    """Every module name this file imports, resolved to absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            names.add(prefix)
            names |= {f"{prefix}.{alias.name}" for alias in node.names}
    return names


def internal_edges(package: str) -> dict[str, set[str]]:
    """Module → the modules of the same package it imports (a module importing its own
    package's ``__init__`` is not counted: that is how a package re-exports)."""
    mods = modules(package)
    edges: dict[str, set[str]] = {}
    for name, path in mods.items():
        targets = set()
        for imported in imports_of(path, name):
            while imported and imported not in mods:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                targets.add(imported)
        edges[name] = targets
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_the_finder_sees_a_circle_hidden_inside_a_function():
    assert circles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_hotline_has_no_import_circles():
    assert circles(internal_edges("hotline")) == []


def ours(names: set[str]) -> set[str]:
    tops = ("hotline", "asr", "translate", "tts", "telephony")
    return {n for n in names if n.split(".")[0] in tops}


@pytest.mark.parametrize(
    ("room", "may_import"),
    [
        ("hotline.wire", ("hotline.wire",)),
        ("hotline.records", ("hotline.records", "hotline.wire")),
        ("hotline.cases", ("hotline.cases", "hotline.records", "hotline.wire", "hotline.config")),
        (
            "hotline.call",
            (
                "hotline.call",
                "hotline.cases",
                "hotline.wire",
                "hotline.engines",
                "hotline.records",
                "hotline.config",
                "telephony",
            ),
        ),
        (
            "hotline.server",
            (
                "hotline.server",
                "hotline.qa",
                "hotline.cases",
                "hotline.call",
                "hotline.wire",
                "hotline.engines",
                "hotline.records",
                "hotline.accounts",
                "hotline.config",
                "telephony",
            ),
        ),
        (
            "hotline.qa",
            (
                "hotline.qa",
                "hotline.engines",
                "hotline.records",
                "hotline.config",
                "hotline.wire",
                "telephony",
            ),
        ),
        (
            "hotline.engines",
            ("hotline.config", "hotline.model_registry", "asr", "translate", "tts", "telephony"),
        ),
        ("hotline.model_registry", ()),
        ("telephony", ("telephony",)),
    ],
)
def test_each_room_imports_only_what_its_docstring_allows(room, may_import):
    for name, path in modules("hotline").items() | modules("telephony").items():
        if name != room and not name.startswith(room + "."):
            continue
        for imported in ours(imports_of(path, name)):
            assert imported.startswith(may_import), f"{name} imports {imported}"


def test_engine_packages_never_import_the_product():
    for package in (*ENGINE_PACKAGES, "telephony"):
        for name, path in modules(package).items():
            assert not any(n.startswith("hotline") for n in imports_of(path, name)), name


def test_only_the_engine_seam_and_the_benchmarks_import_an_engine_package():
    for name, path in modules("hotline").items():
        if name == "hotline.engines" or name.startswith("hotline.bench"):
            continue
        engines = {n for n in imports_of(path, name) if n.split(".")[0] in ENGINE_PACKAGES}
        assert not engines, f"{name} imports {sorted(engines)}: go through hotline.engines"


def test_no_product_module_imports_the_benchmarks():
    for name, path in modules("hotline").items():
        if name.startswith("hotline.bench") or name == "hotline.cli":
            continue
        assert not any(n.startswith("hotline.bench") for n in imports_of(path, name)), name


def test_every_package_says_what_lives_in_it():
    for package in (REPO / "hotline").rglob("__init__.py"):
        doc = ast.get_docstring(ast.parse(package.read_text(encoding="utf-8")))
        assert doc and len(doc) > 60, f"{package} needs a docstring saying what lives there"
