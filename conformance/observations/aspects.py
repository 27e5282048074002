"""Aspects of an answer that two answers to the same case can be compared on.

One table, read by ``cross_api`` (the same case through both APIs) and ``stream_parity``
(streamed vs non-streamed), so an aspect means the same thing in both:

``finish``         the API-neutral finish class (``finish_class``)
``tool_names``     the sorted names of the functions called
``argument_keys``  per function, the sorted keys of its arguments (or a marker when they are not a JSON object)
``json_keys``      the key paths (``a``, ``a.b``, ``list[].c``) of the first output text as JSON, or a marker
                   when it is not JSON: two prose answers agree here; whether JSON was produced at all is
                   ``json_output``'s finding, not a difference between the two answers
``text``           the output text, whitespace-normalised; compared only on a deterministic target
                   (a mock, or a model at temperature 0): two samplings may word an answer differently
"""

from __future__ import annotations

import json
from typing import Any, Callable

from conformance.api.arguments import parse_object
from conformance.observations.observation import Observation, finish_class, json_texts

NOT_JSON = "<not JSON>"
NOT_AN_OBJECT = "<not a JSON object>"


def key_paths(value: Any, prefix: str = "") -> list[str]:
    """The object key paths of a JSON value (``a``, ``a.b``, ``list[].c``), array positions ignored, sorted."""
    paths: set[str] = set()
    stack = [(value, prefix)]
    while stack:
        node, at = stack.pop()
        if isinstance(node, dict):
            for key, inner in node.items():
                path = f"{at}.{key}" if at else str(key)
                paths.add(path)
                stack.append((inner, path))
        elif isinstance(node, list):
            stack.extend((inner, at + "[]") for inner in node)
    return sorted(paths)


def _finish(obs: Observation, request: Any) -> Any:
    return finish_class(obs, request)


def _tool_names(obs: Observation, request: Any) -> Any:
    return sorted(str(call.name) for call in obs.tool_calls)


def _argument_keys(obs: Observation, request: Any) -> Any:
    keys: dict[str, Any] = {}
    for call in obs.tool_calls:
        arguments, _ = parse_object(call.arguments)
        name = str(call.name)
        if arguments is None:
            keys[name] = NOT_AN_OBJECT
        elif keys.get(name) != NOT_AN_OBJECT:
            keys[name] = sorted(set(keys.get(name) or []) | set(arguments))
    return dict(sorted(keys.items()))


def _json_keys(obs: Observation, request: Any) -> Any:
    texts = json_texts(obs)
    try:
        value = json.loads(texts[0]) if texts else None
    except (ValueError, RecursionError):
        return NOT_JSON
    return key_paths(value) if isinstance(value, (dict, list)) else NOT_JSON


def _text(obs: Observation, request: Any) -> Any:
    return " ".join((obs.text or "").split())


ASPECTS: dict[str, Callable[[Observation, Any], Any]] = {
    "finish": _finish,
    "tool_names": _tool_names,
    "argument_keys": _argument_keys,
    "json_keys": _json_keys,
    "text": _text,
}
# Aspects only a deterministic target can be expected to keep equal between two answers.
DETERMINISTIC_ONLY = ("text",)


def differences(aspects: list[str], first: Observation, first_request: Any, second: Observation,
                second_request: Any) -> dict[str, tuple[Any, Any]]:
    """``{aspect: (first's value, second's value)}`` for every aspect on which the two answers differ."""
    found = {}
    for aspect in aspects:
        one, two = ASPECTS[aspect](first, first_request), ASPECTS[aspect](second, second_request)
        if one != two:
            found[aspect] = (one, two)
    return found


def unknown_aspects(params: dict[str, Any]) -> str | None:
    """Why a check's ``aspects`` parameter is wrong (None when every name is in the table)."""
    value = params.get("aspects")
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names:
        return "aspects must be a name or a non-empty list of names"
    unknown = [str(name) for name in names if name not in ASPECTS]
    if unknown:
        return f"unknown aspect(s) {', '.join(unknown)}; known: {', '.join(ASPECTS)}"
    return None
