"""Bounded parsing of the YAML and JSON the suite reads (case files, targets, expectations, cassettes).

Inputs can be hostile or broken (a cassette from a fork, a fuzzed file), so parsing is bounded:
a size limit, a nesting-depth limit and an alias limit. PyYAML's C composer recurses once per
nesting level (50,000 levels crash the process) and shares aliased nodes, so a 600-byte "billion
laughs" file loads instantly and explodes later when it is walked. Both are refused before the
full load, by a pre-scan of libyaml's events (iterative, C speed) that only runs when the text
could hold either: an anchor (``&``) or deep nesting.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

MAX_BYTES = 64 * 1024 * 1024  # a cassette larger than this is refused, not parsed
MAX_DEPTH = 256  # nesting levels of YAML collections or JSON values
MAX_ALIASES = 1000  # alias references in one YAML document
# A cheap text test first: fewer opening brackets and indentation levels than this cannot nest deeper.
_DEEP_INDENT = re.compile(r"\n {%d,}\S" % (MAX_DEPTH // 2))


class ParseError(ValueError):
    """The text is not valid YAML/JSON, or exceeds a limit. The message says which, and where."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line  # 1-based, when known


def _may_be_deep(text: str) -> bool:
    return text.count("[") + text.count("{") > MAX_DEPTH or _DEEP_INDENT.search(text) is not None


def _prescan(text: str) -> None:
    """Refuse YAML nested deeper than MAX_DEPTH or holding more than MAX_ALIASES aliases."""
    depth = aliases = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            kind = type(event)
            if kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    line = event.start_mark.line + 1
                    raise ParseError(f"nested deeper than {MAX_DEPTH} levels (line {line})", line)
            elif kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
                depth -= 1
            elif kind is yaml.AliasEvent:
                aliases += 1
                if aliases > MAX_ALIASES:
                    line = event.start_mark.line + 1
                    raise ParseError(f"more than {MAX_ALIASES} YAML aliases (line {line}): refused as a possible "
                                     "alias bomb", line)
    except yaml.YAMLError as exc:
        raise ParseError(_yaml_reason(exc), yaml_line(exc)) from None


def _yaml_reason(exc: yaml.YAMLError) -> str:
    text = str(exc).splitlines()
    mark = getattr(exc, "problem_mark", None)
    where = f" (line {mark.line + 1})" if mark is not None else ""
    return f"invalid YAML{where}: {text[0] if text else type(exc).__name__}"


def yaml_line(exc: Exception) -> int | None:
    """The 1-based line a YAML error points at, when it says."""
    mark = getattr(exc, "problem_mark", None)
    return mark.line + 1 if mark is not None else None


def load_yaml(data: str | bytes, *, max_bytes: int = MAX_BYTES) -> Any:
    """Parse one YAML document with the C safe loader, within the limits. Raises ``ParseError``."""
    if len(data) > max_bytes:
        raise ParseError(f"{len(data):,} bytes, over the {max_bytes:,}-byte limit")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"not UTF-8 text (byte {exc.start})") from None
    if "\x00" in data:
        raise ParseError("binary data (a NUL byte), not YAML text")
    if "&" in data or _may_be_deep(data):
        _prescan(data)
    try:
        return yaml.load(data, Loader=yaml.CSafeLoader)
    except yaml.YAMLError as exc:
        raise ParseError(_yaml_reason(exc), yaml_line(exc)) from None
    except RecursionError:
        raise ParseError(f"nested too deep to parse (limit {MAX_DEPTH})") from None


def load_json(text: str | bytes) -> Any:
    """Parse JSON; a value nested too deep or a number out of range is a ``ParseError``, never a crash."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ParseError("JSON nested too deep to parse") from None
    except (ValueError, OverflowError) as exc:
        raise ParseError(f"not JSON: {exc}") from None


def depth_exceeds(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when a parsed JSON/YAML value nests deeper than ``limit`` (walked iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
