"""The package's structure: layers import downwards only, and API facts live in the API model only."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conformance.api.endpoints import ENDPOINTS

PACKAGE = Path(__file__).resolve().parents[1] / "conformance"

# Layer of each top-level part of the package: a module may import its own part and lower layers only.
LAYERS = {
    "api": 0, "parsing": 0, "redaction": 0, "memory": 0,
    "cases": 1,
    "requests": 2,
    "transport": 3,
    "observations": 4,
    "checks": 5,
    "verdicts": 6,
    "reports": 7,
    "run": 8, "audit": 8, "sdk": 8, "fuzz": 8,
    "cli": 9, "__init__": 9, "__main__": 10,
}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def part_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_parts(path: Path) -> list[tuple[int, str]]:
    """(line, part) for every ``conformance.<part>`` import of a module, function-level ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] if node.module != "conformance" else [f"conformance.{a.name}" for a in node.names]
        for name in names:
            if name.startswith("conformance."):
                found.append((node.lineno, name.split(".")[1]))
    return found


def test_every_part_has_a_layer():
    assert {part_of(p) for p in modules()} <= set(LAYERS)


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_downwards_only(path: Path):
    own = part_of(path)
    for line, part in imported_parts(path):
        assert part in LAYERS, f"{path}:{line}: conformance.{part} has no layer"
        same_layer_elsewhere = LAYERS[part] == LAYERS[own] and part != own and LAYERS[own] > 0
        assert LAYERS[part] <= LAYERS[own] and not same_layer_elsewhere, \
            f"{path.relative_to(PACKAGE)}:{line} ({own}, layer {LAYERS[own]}) imports conformance.{part} " \
            f"(layer {LAYERS[part]})"


def test_grammars_never_import_checks():
    for path in (PACKAGE / "observations").rglob("*.py"):
        assert all(part != "checks" for _, part in imported_parts(path)), path


# Endpoint paths and documented `object` values are facts of the API model: code elsewhere asks it.
PATH_LITERAL = re.compile(r"^/?(chat/completions|(responses|conversations|vector_stores|files)/)|^/(responses|"
                          r"conversations|vector_stores|files)$")
OBJECT_LITERALS = {e.object for e in ENDPOINTS if e.object and "." in e.object} | {"chat.completion.chunk"}


def string_constants(path: Path) -> list[tuple[int, str]]:
    """String constants of a module, docstrings excepted."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("path", [p for p in modules() if part_of(p) != "api"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_endpoint_or_object_literal_outside_the_api_model(path: Path):
    for line, value in string_constants(path):
        assert not PATH_LITERAL.search(value), f"{path}:{line}: endpoint path {value!r} outside conformance/api"
        assert value not in OBJECT_LITERALS, f"{path}:{line}: object value {value!r} outside conformance/api"


def test_the_literal_rules_can_fail(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""doc: /responses/{id} is fine in a docstring."""\nPATH = "/chat/completions"\n'
                   'KIND = "response.deleted"\nfrom conformance.run import runner\n')
    values = [v for _, v in string_constants(bad)]
    assert any(PATH_LITERAL.search(v) for v in values) and "response.deleted" in values
    assert not any("docstring" in v for v in values)
    assert imported_parts(bad) == [(4, "run")]
