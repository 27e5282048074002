"""``parsing.load_yaml`` builds alias-free documents itself (``_load_tree``): the values, and the errors, are
PyYAML's safe loader's, on the project's own YAML, on tricky documents and on generated ones."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import parsing
from conformance.parsing import ParseError, load_yaml

ROOT = Path(__file__).resolve().parents[1]
OWN_YAML = sorted([*ROOT.glob("cassettes/**/*.yaml"), *ROOT.glob("conformance/**/*.yaml"),
                   *ROOT.glob("expectations/*.yaml")])


def _pyyaml(text: str):
    """What PyYAML's C safe loader gives (the value), or the ``ParseError`` message ``load_yaml`` makes of its
    error."""
    try:
        return "value", yaml.load(text, Loader=yaml.CSafeLoader)
    except Exception:  # noqa: BLE001
        pass
    own = parsing._load_tree
    try:
        parsing._load_tree = lambda data: yaml.load(data, Loader=yaml.CSafeLoader)
        return "error", _error(text)
    finally:
        parsing._load_tree = own


def _error(text: str) -> str:
    with pytest.raises(ParseError) as raised:
        load_yaml(text)
    return str(raised.value)


def _ours(text: str):
    try:
        return "value", load_yaml(text)
    except ParseError as exc:
        return "error", str(exc)


def test_the_projects_own_yaml_loads_as_pyyaml_loads_it() -> None:
    assert len(OWN_YAML) > 100
    for path in OWN_YAML:
        text = path.read_text(encoding="utf-8")
        assert _typed(parsing._load_tree(text)) == _typed(yaml.load(text, Loader=yaml.CSafeLoader)), path


TRICKY = [
    "", "# only a comment\n", "~", "plain", "'1'", "1", "0x1F", "1_000", "1:30", "0o17", "-.inf", ".nan", "yes",
    "No", "null", "2025-02-30", "2025-01-02", "2025-01-02T03:04:05Z", "!!binary aGVsbG8=", "!!str 12",
    "!!int abc", "!!float x", "!!bool maybe", "!!timestamp 2025-13-45", "!!python/object:os.system x",
    "!custom 1", "a: 1\na: 2\n", "1: one\n2: two\n", "null: x\n~: y\n", "true: t\n", "? [a, b]\n: list key\n",
    "? {a: 1}\n: map key\n", "<<: {a: 1, b: 2}\nb: 3\n", "<<: [{a: 1}, {c: 2}]\n", "!!set {a, b}\n",
    "!!omap [a: 1, b: 2]\n", "!!pairs [a: 1, a: 2]\n", "!!map {a: 1}\n", "!!seq [1, 2]\n", "! a\n",
    "!!str\n", "- [1, [2, [3, {x: [4]}]]]\n", "a:\n  - b: |\n      text\n      more\n    c: >\n      folded\n",
    "=: value\n", "key: !!null ''\n", "k: !!float 1\n", "--- a\n--- b\n", "a: [1, 2\n", "a: 'x\n", "\t- a\n",
    "a: !!binary |\n  aGVs\n  bG8=\n", "9" * 5000, "k: " + "9" * 5000,
    # several bad values: the error reported is the one PyYAML meets first, in its own order
    "a: {b: !!int x}\nc: !!float y\n", "- [!!int x]\n- !!bool y\n", "? [!!int x]\n: 1\n",
    # mappings with integer keys nested deep (within the limit): PyYAML's constructor recursion, deeper per level
    "{1: " * 250 + "x" + "}" * 250, "[" * 250 + "{1: x}" + "]" * 250,
]


@pytest.mark.parametrize("text", TRICKY)
def test_tricky_documents_load_or_fail_as_with_pyyaml(text: str) -> None:
    (kind, ours), (expected_kind, expected) = _ours(text), _pyyaml(text)
    assert (kind, _typed(ours)) == (expected_kind, _typed(expected))


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
                    st.dates(), st.datetimes(), st.binary(max_size=8))
KEYS = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none(), st.dates())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(KEYS, inner, max_size=4)), max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(VALUES, st.sampled_from([None, False, True]))
def test_generated_documents_load_as_with_pyyaml(value, flow) -> None:
    text = yaml.safe_dump(value, default_flow_style=flow, allow_unicode=True)
    if "&" in text and "*" in text:
        return  # aliases: PyYAML's own loader is used for those
    assert _typed(parsing._load_tree(text)) == _typed(yaml.load(text, Loader=yaml.CSafeLoader))


def _typed(value):
    """``value`` with the type of every part beside it (``True == 1 == 1.0`` in Python, not here)."""
    if isinstance(value, dict):
        return ("dict", [(_typed(k), _typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [_typed(v) for v in value])
    return (type(value).__name__, value)


def test_a_document_with_aliases_keeps_shared_values_shared() -> None:
    loaded = load_yaml("a: &x {k: [1, 2]}\nb: *x\n")
    assert loaded == {"a": {"k": [1, 2]}, "b": {"k": [1, 2]}} and loaded["a"] is loaded["b"]


def test_values_are_built_as_pyyaml_builds_them() -> None:
    loaded = load_yaml("when: 2025-01-02\nn: 0x1F\ns: !!str 12\nbin: !!binary aGVsbG8=\n")
    assert loaded == {"when": datetime.date(2025, 1, 2), "n": 31, "s": "12", "bin": b"hello"}
