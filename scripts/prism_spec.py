#!/usr/bin/env python3
"""Derive the copy of OpenAI's OpenAPI spec that Prism mocks from (built at install time, never committed).

Input: ../shared/spec/openai/openapi.yaml (third-party data beside the repo, see its SOURCE.txt). Output: JSON
(Prism parses it faster than YAML). ``scripts/install-servers.sh prism`` runs this and writes a record next to
the output (input sha256, this script's sha256, the rules, output sha256); the output is byte-identical run to run.

Rule 1, ``nullable`` without ``type`` (24 sites). Prism validates requests with Ajv, and Ajv refuses to compile
a schema that has ``nullable`` but no ``type``; Prism swallows that compile error and then skips request
validation for the whole operation, so with the unmodified spec no POST /chat/completions body is ever rejected
(StopConfiguration and CreateChatCompletionRequest.prediction). Applied to every mapping:
  * ``nullable`` next to ``type`` is left alone (Ajv handles it);
  * ``nullable: false`` without ``type``: the keyword is dropped;
  * ``nullable: true`` without ``type``: dropped, and null allowed another way:
      - the schema has ``anyOf``: a ``{"type": "null"}`` branch is appended (unless one is there);
      - the schema is only ``{nullable: true}`` inside a parent's ``allOf`` (the ``allOf: [$ref, {nullable}]``
        idiom): that member is removed and the parent is made nullable instead;
      - otherwise (``oneOf``, ``$ref`` + ``nullable``, ...): wrapped, ``{"anyOf": [<schema>, {"type": "null"}]}``,
        its annotations (description, title, default, example, deprecated, x-*) kept outside. Not appended to
        a ``oneOf``: a branch may already accept null (StopConfiguration's string branch is ``type: string,
        nullable: true``), and null would then match twice and ``stop: null`` be rejected.

Rule 2, ``InputItem``: ``oneOf`` becomes ``anyOf`` (1 site). Decision, on evidence: with ``oneOf`` every
Responses message item with list content (``{"role": "user", "content": [{"type": "input_text", ...}]}``)
matches two branches (EasyInputMessage and Item -> InputMessage) and is rejected, although it is the documented
way to send images and files. The live API accepts it: all 205 such requests in the shared corpus of recorded
OpenAI traffic got 200. The spec means a discriminated union (it declares ``discriminator: type``, which Ajv
ignores). ``anyOf`` accepts exactly what some branch accepts, so nothing invalid gets through: an item that fits
no branch (an ``input_image`` without its required ``detail``) is still rejected. Without this rule the vision
cases would read as our request's fault on Prism when it is the spec's.

Usage:
    prism_spec.py IN.yaml OUT.json      # prints the sites rewritten on stderr
    prism_spec.py --rule                # prints the rules, for the derivation record
"""
import json
import sys

import yaml

RULE = ("1 nullable-without-type: drop `nullable`; if true, append {type: null} to anyOf, or move an allOf "
        "{nullable} member up to the parent, else wrap as anyOf [schema, {type: null}]; "
        "2 InputItem: oneOf -> anyOf (list-content messages match two branches; the live API accepts them)")
NULL = {"type": "null"}
ANNOTATIONS = {"description", "title", "default", "example", "examples", "deprecated", "readOnly", "writeOnly"}
ONE_OF_TO_ANY_OF = ("InputItem",)


class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # C loader: 2 s for the 3 MB spec, pure Python 13 s
    """Safe loader that keeps timestamp-like scalars as strings, so the result is plain JSON."""


Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in rs if tag != "tag:yaml.org,2002:timestamp"]
    for ch, rs in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _nullable_only(node):
    return isinstance(node, dict) and node.get("nullable") is True and "type" not in node and (
        set(node) <= {"nullable", "description"})


def _make_nullable(node):
    """Return ``node`` (a dict without ``nullable``) made to also accept null."""
    if isinstance(node.get("anyOf"), list):
        if NULL not in node["anyOf"]:
            node["anyOf"].append(dict(NULL))
        return node
    outer = {k: v for k, v in node.items() if k in ANNOTATIONS or k.startswith("x-")}
    inner = {k: v for k, v in node.items() if k not in outer}
    outer["anyOf"] = [inner, dict(NULL)]
    return outer


def patch(node, count):
    """Rule 1 on ``node`` and everything under it; return the (possibly new) node. count[0] counts sites."""
    if isinstance(node, list):
        return [patch(item, count) for item in node]
    if not isinstance(node, dict):
        return node
    node, nullable = dict(node), False
    if isinstance(node.get("allOf"), list) and any(_nullable_only(m) for m in node["allOf"]):
        count[0] += sum(1 for m in node["allOf"] if _nullable_only(m))
        node["allOf"] = [m for m in node["allOf"] if not _nullable_only(m)]
        nullable = True
    node = {k: patch(v, count) for k, v in node.items()}
    if isinstance(node.get("nullable"), bool) and "type" not in node:
        count[0] += 1
        nullable = node.pop("nullable") is True or nullable
    return _make_nullable(node) if nullable else node


def any_of(spec, names):
    """Rule 2: the named component schemas' ``oneOf`` becomes ``anyOf``; returns how many were rewritten."""
    schemas = spec.get("components", {}).get("schemas", {})
    done = 0
    for name in names:
        schema = schemas.get(name)
        if not isinstance(schema, dict) or "oneOf" not in schema:
            sys.exit(f"prism_spec.py: components.schemas.{name} has no oneOf: the spec changed; review rule 2")
        schema["anyOf"] = schema.pop("oneOf")
        done += 1
    return done


def main(argv):
    if argv[1:] == ["--rule"]:
        return print(RULE)
    if len(argv) != 3:
        sys.exit(__doc__)
    with open(argv[1], "rb") as f:
        spec = yaml.load(f, Loader=Loader)
    count = [0]
    spec = patch(spec, count)
    unions = any_of(spec, ONE_OF_TO_ANY_OF)
    with open(argv[2], "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"rule 1: {count[0]} sites rewritten; rule 2: {unions} oneOf -> anyOf", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
