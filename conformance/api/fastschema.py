"""A fast yes/no pre-check for the small contracts that judge stream events and chunks.

jsonschema's validator costs about 0.4 ms per stream event, and the audit judges
tens of thousands of events. ``checker(profile, name)`` compiles a contract into
nested closures for the keywords our event contracts use; it returns None when a
contract (or one it refers to) uses any other keyword, and then only jsonschema is
used. A ``True`` answer is exact (jsonschema would find no error); on ``False`` the
caller asks jsonschema for the errors and their wording.

``absent(profile, name, instance)`` goes one step further for whole bodies, which in
old recordings are mostly valid except for fields OpenAI added later: it lists the
objects lacking required fields, in the order jsonschema would report them, and
gives up (None) as soon as anything else is wrong. tests/test_perf_equivalence.py
compares both against jsonschema over the corpus and code-built mutants.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, NamedTuple
from urllib.parse import quote

from conformance.api import contracts
from conformance.parsing import pointer_token

Check = Callable[[Any], bool]
# Annotations only (``format`` too: contracts.validator asserts no formats), and every ``x-`` annotation
# (``x-evidence`` on the openai contracts).
IGNORED = {"$schema", "$id", "$comment", "$defs", "title", "description", "default", "examples", "format"}


def _annotation(key: str) -> bool:
    """True for keywords that never change a verdict."""
    return key in IGNORED or key.startswith("x-")


class _Unsupported(Exception):
    """The contract uses a keyword this pre-check does not implement."""


def _is_type(value: Any, name: str) -> bool:
    """JSON Schema's type test (booleans are not numbers; 1.0 is an integer)."""
    if name == "string":
        return isinstance(value, str)
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if name == "integer":
        return isinstance(value, int) or isinstance(value, float) and value.is_integer()
    if name == "number":
        return isinstance(value, (int, float))
    raise _Unsupported(f"type {name}")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality as jsonschema's enum/const see it (true is not 1)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b or isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b


class _Compiler:
    def __init__(self) -> None:
        self.docs: dict[Path, Any] = {}
        self.refs: dict[tuple[Path, str], list[Check]] = {}  # a cell per ref target, filled after compiling (cycles)
        self.explained: dict[tuple[Path, str], list[Explain]] = {}  # the same for ``explain``

    def doc(self, path: Path) -> Any:
        if path not in self.docs:
            self.docs[path] = json.loads(path.read_text())
        return self.docs[path]

    def target(self, ref: str, base: Path) -> tuple[tuple[Path, str], Any]:
        """The (file, pointer) key of a ``$ref`` and the schema node it points to."""
        file_part, _, pointer = ref.partition("#")
        path = (base.parent / file_part).resolve() if file_part else base
        if not path.exists():
            raise _Unsupported(f"unresolved $ref {ref}")
        node = self.doc(path)
        for part in [p for p in pointer.split("/") if p]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return (path, pointer), node

    def ref(self, ref: str, base: Path) -> Check:
        key, node = self.target(ref, base)
        if key not in self.refs:
            cell: list[Check] = []
            self.refs[key] = cell
            cell.append(self.compile(node, key[0]))
        cell = self.refs[key]
        return lambda value: cell[0](value)

    def compile(self, node: Any, base: Path) -> Check:
        if node is True or node == {}:
            return lambda value: True
        if node is False:
            return lambda value: False
        if not isinstance(node, dict):
            raise _Unsupported(repr(node))
        keys = {key for key in node if not _annotation(key)}
        if keys == {"type"}:
            return _type_test(node["type"])  # a leaf such as {"type": "string"}: no wrapper
        if keys == {"$ref"}:
            return self.ref(node["$ref"], base)
        unknown = keys - {"type", "required", "properties", "additionalProperties", "items", "then", "else"}
        others = [self.keyword(key, node[key], node, base) for key in node if key in unknown]
        types = _type_test(node.get("type"))
        required = tuple(node.get("required", ()))
        properties = {name: self.compile(sub, base) for name, sub in node.get("properties", {}).items()}
        extra = self.compile(node["additionalProperties"], base) if "additionalProperties" in node else None
        items = self.compile(node["items"], base) if "items" in node else None

        def check(value: Any) -> bool:
            # one closure per schema node, plain loops: several times faster than a generic validator
            if types is not None and not types(value):
                return False
            if isinstance(value, dict):
                for name in required:
                    if name not in value:
                        return False
                if properties or extra is not None:
                    for name, inner in value.items():
                        test = properties.get(name, extra)
                        if test is not None and not test(inner):
                            return False
            elif items is not None and isinstance(value, list):
                for inner in value:
                    if not items(inner):
                        return False
            for test in others:
                if not test(value):
                    return False
            return True

        return check

    def keyword(self, key: str, arg: Any, node: dict, base: Path) -> Check:
        if key in ("enum", "const"):
            options = arg if key == "enum" else [arg]
            strings = frozenset(o for o in options if isinstance(o, str))
            # strings (event types, statuses) are the common case: a set lookup
            return lambda value: value in strings if isinstance(value, str) else any(
                _equal(value, option) for option in options)
        if key in BOUNDS:
            kind, holds = BOUNDS[key]
            return lambda value: not _is_type(value, kind) or holds(_size(value), arg)
        if key == "pattern":
            pattern = re.compile(arg)
            return lambda value: not isinstance(value, str) or pattern.search(value) is not None
        if key == "not":
            inner = self.compile(arg, base)
            return lambda value: not inner(value)
        if key in ("allOf", "anyOf", "oneOf"):
            checks = [self.compile(sub, base) for sub in arg]
            if key == "allOf":
                return lambda value: all(check(value) for check in checks)
            if key == "anyOf":
                return lambda value: any(check(value) for check in checks)
            return lambda value: sum(1 for check in checks if check(value)) == 1
        if key == "if":
            condition = self.compile(arg, base)
            then = self.compile(node.get("then", True), base)
            otherwise = self.compile(node.get("else", True), base)
            return lambda value: then(value) if condition(value) else otherwise(value)
        if key == "$ref":
            return self.ref(arg, base)
        raise _Unsupported(key)


    def explain_ref(self, ref: str, base: Path) -> Explain:
        key, node = self.target(ref, base)
        if key not in self.explained:
            cell: list[Explain] = []
            self.explained[key] = cell
            cell.append(self.explain(node, key[0], key[1]))
        cell = self.explained[key]
        return lambda value, path, out: cell[0](value, path, out)

    def explain(self, node: Any, base: Path, pointer: str) -> Explain:
        """Like ``compile``, but appends an ``Absent`` to ``out`` for each object lacking required fields,
        in jsonschema's order (the schema's keywords and properties in written order, depth first);
        returns False as soon as anything else is wrong. ``pointer``: where ``node`` is in its file ``base``."""
        # The walk asks at every node whether the value there is valid, to skip valid parts: jsonschema-rs
        # answers that many times faster than the compiled closures (which still decide what is supported)
        valid = _first_use(base, pointer, self.compile(node, base))
        if not isinstance(node, dict):
            return lambda value, path, out, invalid=False: valid(value)  # true/false schemas
        steps = [self.explain_keyword(key, node[key], node, base, pointer) for key in node
                 if not _annotation(key) and key not in ("then", "else")]

        def explain(value: Any, path: tuple, out: list[Absent], invalid: bool = False) -> bool:
            # ``invalid``: the caller knows the value is invalid, so asking again would only walk it once more
            if not invalid and valid(value):
                return True  # exact: jsonschema finds nothing here, so skip the walk
            for step in steps:
                if not step(value, path, out):
                    return False
            return True

        return explain

    def explain_keyword(self, key: str, arg: Any, node: dict, base: Path, pointer: str) -> Explain:
        """One keyword of ``explain``: the keywords that hold other schemas descend, the others are yes/no."""
        if key == "required":
            names = tuple(arg)

            def required(value: Any, path: tuple, out: list[Absent]) -> bool:
                if isinstance(value, dict) and any(name not in value for name in names):
                    out.append(Absent(path, value, names, schema=node))
                return True

            return required
        if key == "properties":
            inner = {name: self.explain(sub, base, f"{pointer}/properties/{pointer_token(name)}")
                     for name, sub in arg.items()}

            def properties(value: Any, path: tuple, out: list[Absent]) -> bool:
                if isinstance(value, dict):
                    for name, explain in inner.items():  # the schema's order, as jsonschema walks it
                        if name in value and not explain(value[name], (*path, name), out):
                            return False
                return True

            return properties
        if key == "items":
            each = self.explain(arg, base, f"{pointer}/items")

            def items(value: Any, path: tuple, out: list[Absent]) -> bool:
                if isinstance(value, list):
                    for index, inner in enumerate(value):
                        if not each(inner, (*path, index), out):
                            return False
                return True

            return items
        if key == "allOf":
            parts = [self.explain(sub, base, f"{pointer}/allOf/{index}") for index, sub in enumerate(arg)]
            return lambda value, path, out: all(part(value, path, out) for part in parts)
        if key == "$ref":
            return self.explain_ref(arg, base)
        if key == "if":
            condition = self.compile(arg, base)
            then = self.explain(node["then"], base, f"{pointer}/then") if "then" in node else None
            otherwise = self.explain(node["else"], base, f"{pointer}/else") if "else" in node else None

            def if_(value: Any, path: tuple, out: list[Absent]) -> bool:
                branch = then if condition(value) else otherwise
                return branch is None or branch(value, path, out)

            return if_
        if key == "additionalProperties":
            # jsonschema visits extra properties in set order: any problem in one is left to jsonschema
            extra, known = self.compile(arg, base), set(node.get("properties", {}))
            return lambda value, path, out: not isinstance(value, dict) or all(
                extra(inner) for name, inner in value.items() if name not in known)
        # type, enum, const, bounds, pattern, not, anyOf, oneOf: jsonschema reports an error exactly when the
        # yes/no test fails, and none of those errors is an absent field
        test = _type_test(arg) if key == "type" else self.keyword(key, arg, node, base)
        return lambda value, path, out: test(value)


class Absent(NamedTuple):
    """Required fields absent from one object, shaped like the jsonschema ``required`` error they stand for."""

    absolute_path: tuple  # where the object is (property names and list indexes)
    instance: dict  # the object
    validator_value: tuple  # its required names (some of which it lacks)
    validator: str = "required"
    schema: Any = None  # the contract node holding the ``required`` list (for its ``x-evidence``)


Explain = Callable[[Any, tuple, list], bool]


BOUNDS = {  # keyword: (the JSON type it applies to, how the size compares with the bound)
    "minimum": ("number", lambda size, bound: size >= bound),
    "maximum": ("number", lambda size, bound: size <= bound),
    "exclusiveMinimum": ("number", lambda size, bound: size > bound),
    "exclusiveMaximum": ("number", lambda size, bound: size < bound),
    "minItems": ("array", lambda size, bound: size >= bound),
    "maxItems": ("array", lambda size, bound: size <= bound),
    "minLength": ("string", lambda size, bound: size >= bound),
    "maxLength": ("string", lambda size, bound: size <= bound),
    "minProperties": ("object", lambda size, bound: size >= bound),
}


def _size(value: Any) -> Any:
    """What a bound compares: a number itself, the length of a string (in code points), array or object."""
    return value if isinstance(value, (int, float)) else len(value)


PLAIN_TYPES = {"string": str, "object": dict, "array": list, "null": type(None), "boolean": bool}


def _type_test(spec: Any) -> Check | None:
    """The test of a ``type`` keyword (None when there is none)."""
    if spec is None:
        return None
    names = spec if isinstance(spec, list) else [spec]
    for name in names:
        _is_type(None, name)  # raises on an unknown type name
    plain = tuple(PLAIN_TYPES[name] for name in names if name in PLAIN_TYPES)
    number, integer = "number" in names, "integer" in names

    def test(value: Any) -> bool:
        if isinstance(value, plain):
            return True
        if isinstance(value, bool):
            return False  # a bool is an int to Python, never a number to JSON Schema
        if number and isinstance(value, (int, float)):
            return True
        return integer and (isinstance(value, int) or isinstance(value, float) and value.is_integer())

    return test


def prepare(profile: str) -> None:
    """Compile every contract of ``profile`` now (the yes/no checks, the walk of ``absent`` and its top-level
    shortcut, jsonschema's validator): a process about to fork workers does it once for all of them, instead of
    each worker again."""
    root = contracts.contracts_root()
    for folder in contracts.PROFILE_FALLBACK.get(profile, [profile]):
        for path in sorted((root / folder).rglob("*.json")):
            name = path.relative_to(root / folder).with_suffix("").as_posix()
            checker(profile, name)
            _explainer(profile, name)
            _top_relaxed(profile, name)
            contracts.validator(profile, name)  # jsonschema's, which words what the fast paths cannot


@lru_cache(maxsize=None)
def checker(profile: str, name: str) -> Check | None:
    """A compiled yes/no check for contract ``name`` under ``profile``; None when it cannot be compiled.

    jsonschema-rs compiles it when it is installed (``rs_checker``: about six times faster on stream events,
    the audit's commonest objects); else the hand-written compiler below does."""
    path = contracts.schema_path(profile, name)
    if path is None:
        return None
    return rs_checker(path.resolve()) or compiled_checker(profile, name)


@lru_cache(maxsize=None)
def compiled_checker(profile: str, name: str) -> Check | None:
    """The hand-written compiler's yes/no check for contract ``name`` (None when it cannot compile it)."""
    path = contracts.schema_path(profile, name)
    if path is None:
        return None
    try:
        compiler = _Compiler()
        return compiler.compile(compiler.doc(path.resolve()), path.resolve())
    except (_Unsupported, KeyError, ValueError):
        return None


@lru_cache(maxsize=None)
def _explainer(profile: str, name: str) -> Explain | None:
    path = contracts.schema_path(profile, name)
    if path is None:
        return None
    try:
        compiler = _Compiler()
        return compiler.explain(compiler.doc(path.resolve()), path.resolve(), "")
    except (_Unsupported, KeyError, ValueError):
        return None


def absent(profile: str, name: str, instance: Any, invalid: bool = False) -> list[Absent] | None:
    """When absent required fields are all that is wrong with ``instance``: where they are, in jsonschema's
    order (one ``Absent`` per object lacking some). None when anything else is wrong, when ``instance``
    is valid, or when the contract cannot be compiled: then only jsonschema can say. ``invalid``: the caller's
    ``checker`` found it invalid (the walk skips checking the whole of it once more; were it valid after all,
    the walk finds nothing absent and the answer is None as well)."""
    explain = _explainer(profile, name)
    if explain is None:
        return None
    top = _top_relaxed(profile, name) if isinstance(instance, dict) else None
    if top is not None and top.check(instance):
        # valid but for the top node's own ``required`` list (a stream event of an old recording, commonly):
        # that list is the whole story, as the walk would find it, without walking the object in Python
        lacking = any(field not in instance for field in top.names)
        return [Absent((), instance, top.names, schema=top.node)] if lacking else None
    out: list[Absent] = []
    return out if explain(instance, (), out, invalid) and out else None


class _TopRelaxed(NamedTuple):
    check: Check  # jsonschema-rs's yes/no check of the contract without its top node's ``required``
    node: dict  # the top node (its ``x-evidence`` names each required field's evidence)
    names: tuple  # its ``required`` list


@lru_cache(maxsize=None)
def _top_relaxed(profile: str, name: str) -> _TopRelaxed | None:
    """The contract ``name`` with its top node's ``required`` list left out, compiled by jsonschema-rs; None when
    the top node has no such list, refers to itself, or jsonschema-rs is not installed or cannot compile it.

    An object that fails the contract but passes this check has exactly one problem: it lacks some of those names.
    """
    path = contracts.schema_path(profile, name)
    if path is None:
        return None
    path = path.resolve()
    node = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(node, dict) or not isinstance(node.get("required"), list) or _refers_to_top(node, path.name):
        return None
    relaxed = {key: value for key, value in node.items() if key != "required"}
    # another name in the same folder: its relative references resolve as the contract's own do
    check = rs_checker_of(relaxed, path.with_name(f".without-top-required.{path.name}"), path.parent)
    return None if check is None else _TopRelaxed(check, node, tuple(node["required"]))


def _refers_to_top(node: Any, file_name: str) -> bool:
    """True when a ``$ref`` in ``node`` names the document's own top (``#``, or its file without a pointer): in
    the relaxed copy it would lose the ``required`` list too."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.partition("#")[0] in ("", file_name) and not ref.partition("#")[2]:
            return True
        return any(_refers_to_top(value, file_name) for value in node.values())
    if isinstance(node, list):
        return any(_refers_to_top(value, file_name) for value in node)
    return False


def _first_use(path: Path, pointer: str, compiled: Check) -> Check:
    """``compiled``, or jsonschema-rs's check of the same node, chosen when first asked (most nodes never are:
    compiling them all would cost more than it saves)."""
    chosen: list[Check] = []

    def valid(value: Any) -> bool:
        if not chosen:
            chosen.append(_rs_node_checker(path, pointer) or compiled)
        return chosen[0](value)

    return valid


@lru_cache(maxsize=None)
def _rs_node_checker(path: Path, pointer: str) -> Check | None:
    """jsonschema-rs's yes/no check of the schema node at ``pointer`` in the contract at ``path`` (a reference to
    it, resolved in the contracts' registry, so the node's own references resolve as in its file)."""
    return rs_checker_of({"$ref": f"{path.as_uri()}#{quote(pointer, safe='/~')}"},
                         path.with_name(f".node-of.{path.name}"), path.parent)


@lru_cache(maxsize=None)
def _rs_registry(directory: Path) -> Any:
    """jsonschema-rs's registry of every contract in ``directory``, by file URI (they ``$ref`` each other by
    relative file name)."""
    import jsonschema_rs

    return jsonschema_rs.Registry([(path.resolve().as_uri(), json.loads(path.read_text(encoding="utf-8")))
                                   for path in sorted(directory.rglob("*.json"))])


@lru_cache(maxsize=None)
def rs_checker(path: Path) -> Check | None:
    """A yes/no check of the contract at ``path`` compiled by jsonschema-rs (draft 2020-12, formats not
    asserted, as ``contracts.validator``); None when jsonschema-rs is not installed or cannot compile it.
    A value it cannot take (NaN, an integer beyond 64 bits) answers False: the caller asks jsonschema then."""
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return rs_checker_of(schema, path, path.parent)


def rs_checker_of(schema: Any, path: Path, directory: Path) -> Check | None:
    """``rs_checker`` for a contract given as a value, ``path`` being where it stands (its ``$id``) among the
    contracts of ``directory``; None when jsonschema-rs is not installed or cannot compile it."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    try:
        schema = {**schema, "$id": path.as_uri()}
        is_valid = jsonschema_rs.Draft202012Validator(schema, registry=_rs_registry(directory),
                                                      validate_formats=False).is_valid
    except Exception:  # noqa: BLE001  (jsonschema-rs raises its own errors for what it cannot compile)
        return None

    def check(instance: Any) -> bool:
        try:
            return is_valid(instance)
        except Exception:  # noqa: BLE001  (ValueError: a Python value with no JSON counterpart)
            return False

    return check
