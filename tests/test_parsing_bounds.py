"""Bounded parsing (conformance/parsing.py) and bounded decompression (conformance/transport/bounded.py).

Every hostile input is generated here (the kinds the fuzz harness found: deep nesting in each YAML style, alias
bombs of a few dozen aliases, self-referencing anchors, YAML values whose constructors raise, deep JSON,
compression bombs); each must end in a ``ParseError`` / ``TooLarge`` naming the limit, never a crash, a hang or
a wrong value. Legitimate uses of the same features still load."""

from __future__ import annotations

import gzip
import re
import time
import zlib

import brotli
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.parsing import MAX_DEPTH, ParseError, load_json, load_yaml
from conformance.transport.bounded import TooLarge, gunzip, inflate


def bomb(levels: int, width: int, leaf: str = "lol") -> str:
    """A "billion laughs" document: ``levels`` anchors of ``width`` aliases each (levels x width aliases)."""
    lines = [f"l0: &l0 [{', '.join([leaf] * width)}]"]
    lines += [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]" for n in range(1, levels + 1)]
    return "\n".join(lines) + f"\ninteractions: *l{levels}\n"


DEEP = {
    "flow sequences": "interactions: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "flow mappings": "interactions: " + "{a: " * 50_000 + "x" + "}" * 50_000 + "\n",
    "compact block sequences": "interactions:\n" + "- " * 100_000 + "x\n",
    "indented block mappings": "".join(" " * n + f"k{n}:\n" for n in range(300)) + " " * 300 + "v\n",
    "sequences in mappings at one indentation": "a:\n" + "".join(" " * (2 * n) + "- a:\n" for n in range(150))
                                                + " " * 300 + "- x\n",
}


@pytest.mark.parametrize("name", DEEP)
def test_deep_yaml_is_refused_before_the_c_composer_recurses(name: str) -> None:
    with pytest.raises(ParseError, match=f"nested deeper than {MAX_DEPTH} levels"):
        load_yaml(DEEP[name])


def test_nesting_within_the_limit_loads() -> None:
    assert load_yaml("a: " + "[" * 200 + "1" + "]" * 200)["a"] is not None
    assert load_yaml("interactions:\n" + "- " * 100 + "x\n")["interactions"]


@pytest.mark.parametrize("levels,width", [(9, 9), (30, 2), (12, 6)])
def test_alias_bombs_of_a_few_dozen_aliases_are_refused(levels: int, width: int) -> None:
    text = bomb(levels, width)
    assert len(text) < 2000 and text.count("*") == levels * width + 1  # 61 to 91 aliases: a count cannot tell
    started = time.monotonic()
    with pytest.raises(ParseError, match="refused as an alias bomb"):
        load_yaml(text)
    assert time.monotonic() - started < 2


def test_an_alias_of_a_long_scalar_repeated_is_refused() -> None:
    text = f"big: &big {'x' * 1_000_000}\ninteractions: [{', '.join(['*big'] * 100)}]\n"
    with pytest.raises(ParseError, match="refused as an alias bomb"):
        load_yaml(text)


def test_legitimate_aliases_load() -> None:
    one = '{"request": {"method": "POST", "uri": "http://h/v1/responses"}, "response": {"status": {"code": 200}}}'
    document = load_yaml(f"one: &one {one}\ninteractions: [{', '.join(['*one'] * 3000)}]\n")
    assert len(document["interactions"]) == 3000 and document["interactions"][0] is document["interactions"][-1]
    assert load_yaml("headers: &h [application/json]\nagain: *h\n")["again"] == ["application/json"]


@pytest.mark.parametrize("text", ["body: &r {string: *r}", "body: &r [*r]", "interactions: &a [*a]",
                                  "x: &r [a, {b: *r}]"])
def test_an_alias_inside_its_own_anchor_is_refused(text: str) -> None:
    with pytest.raises(ParseError, match="a cycle"):
        load_yaml(text)


@pytest.mark.parametrize("value", ["!!int abc", "!!int 0x", "!!float abc", "!!bool maybe", "!!timestamp junk",
                                   "!!timestamp 2025-13-45", "!!timestamp 2025-02-30T25:61:61Z", "9" * 5000])
def test_values_whose_constructors_raise_are_parse_errors(value: str) -> None:
    with pytest.raises(ParseError, match="invalid YAML value"):
        load_yaml(f"code: {value}\n")


@pytest.mark.parametrize("text", ["!!python/object/apply:os.system ['true']", "\x00binary", b"\xff\xfe"])
def test_unsafe_tags_nul_bytes_and_non_utf8_are_refused(text) -> None:
    with pytest.raises(ParseError):
        load_yaml(text)


@pytest.mark.parametrize("depth", [300, 3_000, 200_000])
def test_deep_json_is_a_parse_error_at_a_fixed_depth(depth: int) -> None:
    with pytest.raises(ParseError, match=f"nested deeper than {MAX_DEPTH} levels"):
        load_json("[" * depth + "]" * depth)
    assert load_json("[" * 200 + "]" * 200)  # within the limit


@pytest.mark.parametrize("text", ["1e999999", '{"a": NaN}', "\ud800", "[1,", b"\xff"])
def test_odd_json_never_raises_anything_but_parse_error(text) -> None:
    try:
        load_json(text)
    except ParseError:
        pass


def _compressed(coding: str, data: bytes) -> bytes:
    return {"gzip": lambda: gzip.compress(data), "deflate": lambda: zlib.compress(data),
            "br": lambda: brotli.compress(data, quality=1),
            "zstd": lambda: zstandard.ZstdCompressor().compress(data)}[coding]()


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_decompression_stops_at_the_limit_and_names_it(coding: str) -> None:
    data = _compressed(coding, b"data: {}\n\n" * (4 << 20))  # 40 MB inflated, kilobytes compressed
    with pytest.raises(TooLarge, match="inflates to more than 1,048,576 bytes"):
        inflate(data, [coding], limit=1 << 20)
    assert inflate(_compressed(coding, b"hello"), [coding]) == b"hello"


def test_a_gzip_file_of_several_members_and_a_bomb() -> None:
    assert gunzip(gzip.compress(b"a: 1\n") + gzip.compress(b"b: 2\n"), 1000) == b"a: 1\nb: 2\n"
    with pytest.raises(TooLarge):
        gunzip(gzip.compress(b" " * (8 << 20)), 1 << 20)
    with pytest.raises(EOFError):
        gunzip(gzip.compress(b"a: 1\n" * 100)[:-12], 1 << 20)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 80), st.sampled_from([" ", "-", "\t", "?", ":", "- ", "a"]),
                          st.sampled_from(["", "x", "key: value", "[1]"]),
                          st.sampled_from(["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029"])), max_size=12))
def test_the_deep_line_test_finds_every_deeply_indented_line(lines):
    """``_may_be_deep`` looks for a deeply indented line from each YAML line break (fast); it finds exactly the
    texts with such a line, whichever of YAML's five line breaks ends the lines before it."""
    from conformance import parsing

    text = "".join(indicator * width + rest + brk for width, indicator, rest, brk in lines)
    indent = re.compile(r"[ \t?:-]{%d}" % (parsing.MAX_DEPTH // 4))
    deep = any(indent.match(line) for line in re.split("\r\n|[\n\r\x85\u2028\u2029]", text))
    assert parsing._deep_line(text) == deep


@pytest.mark.parametrize("brk", ["\n", "\r", "\r\n", "\x85", "\u2028", "\u2029"])
def test_block_nesting_past_the_limit_is_refused_whatever_the_line_breaks(brk):
    """A mapping nested 300 deep (code-made), its lines ended by each of YAML's line breaks."""
    document = "a:" + "".join(brk + " " * (depth + 1) + "a:" for depth in range(300)) + " x" + brk
    with pytest.raises(ParseError, match="nested deeper than"):
        load_yaml(document)
