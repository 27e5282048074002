"""Bounded parsing of the YAML and JSON the suite reads (case files, targets, expectations, cassettes).

Inputs can be hostile or broken (a cassette from a fork, a fuzzed file), so parsing is bounded:
a size limit, a nesting-depth limit and a limit on what aliases expand to. PyYAML's C composer
recurses once per nesting level (30,000 levels crash the process) and shares aliased nodes, so a
600-byte "billion laughs" file (nine anchors of nine aliases each: only ~90 aliases) loads instantly
and explodes later when it is walked, printed or encoded. Both are refused before the full load, by
a pre-scan of libyaml's events (iterative, C speed) that sums what every node would expand to and
tracks the depth. The pre-scan runs whenever the text could hold either: an anchor and an alias, or
nesting that could exceed the limit (flow brackets, deep indentation, or compact ``- - -`` nesting).
Any other exception of the YAML/JSON libraries (``!!int abc``, a 5,000-digit integer, a bad
``!!timestamp``) is a ``ParseError`` too: parsing never raises anything else.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

MAX_BYTES = 64 * 1024 * 1024  # a cassette larger than this is refused, not parsed
MAX_DEPTH = 256  # nesting levels of YAML collections or JSON values
# What a YAML document may expand to once every alias is replaced by its anchor's content: characters of
# scalars plus one per node. A document without aliases expands to less than its own size.
MAX_EXPANDED = MAX_BYTES
# Cheap text tests first. Block nesting needs a node to start further right at each level but one, so a
# document whose lines all start with fewer than MAX_DEPTH // 4 characters of indentation and ``-``/``?``/``:``
# indicators, and that has fewer than MAX_DEPTH // 2 flow brackets, nests less than MAX_DEPTH deep.
# A line starts the text or follows any of YAML's line breaks (\n, \r, U+0085, U+2028, U+2029: PyYAML reads all
# five). The patterns start with the break itself, which re finds several times faster than a multi-line ``^``
# tried at every position (and ``^`` knows \n only); the rare breaks are looked for only in a text that has one.
_DEEP_START = re.compile(r"[ \t?:-]{%d}" % (MAX_DEPTH // 4))
_DEEP_LINE = re.compile(r"\n[ \t?:-]{%d}" % (MAX_DEPTH // 4))
_RARE_BREAKS = ("\r", "\x85", "\u2028", "\u2029")
_DEEP_AFTER_RARE_BREAK = re.compile("[\r\x85\u2028\u2029][ \t?:-]{%d}" % (MAX_DEPTH // 4))
# An anchor (``&name``) and an alias (``*name``) where YAML allows a node property to start.
_ANCHOR = re.compile(r"(?:^|[\s\[{,:])&[^\s\[\]{},]")
_ALIAS = re.compile(r"(?:^|[\s\[{,:])\*[^\s\[\]{},*]")


class ParseError(ValueError):
    """The text is not valid YAML/JSON, or exceeds a limit. The message says which, and where."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.line = line  # 1-based, when known


def _may_be_deep(text: str) -> bool:
    return (text.count("[") + text.count("{") >= MAX_DEPTH // 2 or _deep_line(text))


def _deep_line(text: str) -> bool:
    """True when a line of ``text`` starts with MAX_DEPTH // 4 characters of indentation and indicators."""
    return (_DEEP_START.match(text) is not None or _DEEP_LINE.search(text) is not None
            or (any(brk in text for brk in _RARE_BREAKS) and _DEEP_AFTER_RARE_BREAK.search(text) is not None))


def _may_alias(text: str) -> bool:
    return "&" in text and "*" in text and _ANCHOR.search(text) is not None and _ALIAS.search(text) is not None


def _prescan(text: str, max_expanded: int = MAX_EXPANDED) -> None:
    """Refuse YAML nested deeper than MAX_DEPTH, or whose aliases expand to more than ``max_expanded``
    (characters of scalars plus one per node), or with an alias inside its own anchor (a cycle)."""
    sizes: dict[str, int] = {}  # anchor -> what it expands to
    stack: list[list[Any]] = []  # open collections: [anchor, expanded size so far]
    expanded = 0  # what the document read so far expands to
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            kind = type(event)
            if kind is yaml.ScalarEvent:
                size = len(event.value) + 1
                if event.anchor is not None:
                    sizes[event.anchor] = size
            elif kind is yaml.AliasEvent:
                if any(frame[0] == event.anchor for frame in stack):
                    line = event.start_mark.line + 1
                    raise ParseError(f"a YAML alias inside its own anchor (*{event.anchor}, line {line}): a cycle",
                                     line)
                size = sizes.get(event.anchor, 1)
            elif kind in (yaml.MappingStartEvent, yaml.SequenceStartEvent):
                stack.append([event.anchor, 1])
                expanded += 1
                if len(stack) > MAX_DEPTH:
                    line = event.start_mark.line + 1
                    raise ParseError(f"nested deeper than {MAX_DEPTH} levels (line {line})", line)
                continue
            elif kind in (yaml.MappingEndEvent, yaml.SequenceEndEvent):
                anchor, size = stack.pop()
                if anchor is not None:
                    sizes[anchor] = size
                if stack:
                    stack[-1][1] += size  # already counted in ``expanded``, node by node
                continue
            else:
                continue
            if stack:
                stack[-1][1] += size
            expanded += size
            if expanded > max_expanded:
                line = event.start_mark.line + 1
                raise ParseError(f"YAML aliases expand this document to more than {max_expanded:,} characters "
                                 f"(line {line}): refused as an alias bomb", line)
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
    """Parse one YAML document with the C safe loader, within the limits. Raises ``ParseError`` only."""
    if len(data) > max_bytes:
        raise ParseError(f"{len(data):,} bytes, over the {max_bytes:,}-byte limit")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError(f"not UTF-8 text (byte {exc.start})") from None
    if "\x00" in data:
        raise ParseError("binary data (a NUL byte), not YAML text")
    shared = _may_alias(data)
    if shared or _may_be_deep(data):
        _prescan(data, max(max_bytes, MAX_EXPANDED))
    try:
        return yaml.load(data, Loader=yaml.CSafeLoader) if shared else _load_tree(data)
    except yaml.YAMLError as exc:
        raise ParseError(_yaml_reason(exc), yaml_line(exc)) from None
    except RecursionError:
        raise ParseError(f"nested too deep to parse (limit {MAX_DEPTH})") from None
    except Exception as exc:  # noqa: BLE001  (constructors raise ValueError, KeyError, AttributeError, ...)
        # e.g. ``!!int abc``, ``!!bool maybe``, ``!!timestamp 2025-13-45``, an integer of 5,000 digits
        raise ParseError(f"invalid YAML value: {type(exc).__name__}: {str(exc)[:200]}") from None


_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"


def _load_tree(data: str) -> Any:
    """``yaml.load(data, Loader=yaml.CSafeLoader)`` for a document without aliases (its nodes form a tree, each
    built once): strings, string-keyed mappings and sequences are built directly from libyaml's nodes, every
    other node by the safe constructor itself, so the values are the same. About twice as fast on cassettes,
    whose nodes are nearly all strings (PyYAML's constructor makes a generator for each mapping). Anything
    raised on the way (a bad value, nesting the constructor's recursion cannot take) sends the text to PyYAML's
    own load, whose error, met in its own order, is the one reported (or whose value is the result)."""
    loader = yaml.CSafeLoader(data)
    try:
        node = loader.get_single_node()
        return None if node is None else _construct(loader, node)
    except Exception:  # noqa: BLE001  (RecursionError included)
        return yaml.load(data, Loader=yaml.CSafeLoader)
    finally:
        loader.dispose()


def _construct(loader: Any, node: Any) -> Any:
    tag, kind = node.tag, type(node)
    if tag == _STR and kind is yaml.ScalarNode:
        return node.value
    if tag == _MAP and kind is yaml.MappingNode:
        # keys that are plain strings: no merge key (``<<``), nothing unhashable, last duplicate wins as in PyYAML
        if all(key.tag == _STR and type(key) is yaml.ScalarNode for key, _ in node.value):
            return {key.value: _construct(loader, value) for key, value in node.value}
    elif tag == _SEQ and kind is yaml.SequenceNode:
        return [_construct(loader, child) for child in node.value]
    return loader.construct_object(node, deep=True)


def load_json(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON; a value nested deeper than ``max_depth``, a number out of range or any other problem is a
    ``ParseError``, never a crash."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ParseError(f"JSON nested deeper than {max_depth} levels") from None
    except (ValueError, OverflowError, TypeError) as exc:
        raise ParseError(f"not JSON: {exc}") from None
    if isinstance(value, (dict, list)) and _brackets(text) > max_depth and depth_exceeds(value, max_depth):
        raise ParseError(f"JSON nested deeper than {max_depth} levels")
    return value


def _brackets(text: str | bytes) -> int:
    if isinstance(text, (bytes, bytearray)):
        return text.count(b"[") + text.count(b"{")
    return text.count("[") + text.count("{")


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


def pointer_token(key: Any) -> str:
    """A key or index as one token of a JSON Pointer (RFC 6901: ``~`` and ``/`` escaped)."""
    return str(key).replace("~", "~0").replace("/", "~1")
