"""Probes of particular outputs: built-in tool call items, chat audio, refusals, citations."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from conformance.api.arguments import clip
from conformance.checks.behaviour import summarize
from conformance.checks.findings import CheckFailure, Ignored, absent
from conformance.checks.registry import CheckContext, check

# The fields of each annotation type and their JSON types (the spec's UrlCitationBody, FileCitationBody,
# ContainerFileCitationBody; the corpus answers carry exactly these). Chat nests a url_citation's fields
# under the ``url_citation`` key, Responses' ``output_text`` annotations are flat.
ANNOTATION_FIELDS: dict[str, dict[str, type]] = {
    "url_citation": {"url": str, "title": str, "start_index": int, "end_index": int},
    "file_citation": {"file_id": str, "filename": str, "index": int},
    "container_file_citation": {"container_id": str, "file_id": str, "filename": str,
                                "start_index": int, "end_index": int},
}


@check("output_item", apis=("responses",))
def output_item(ctx: CheckContext, type: str) -> None:
    """The Responses output holds an item of ``type`` (e.g. ``web_search_call``): the built-in tool ran.

    A 200 answer without it means the tool was accepted but not used (ignored).
    """
    body = ctx.body or {}
    items = [item for item in body.get("output") or [] if isinstance(item, dict)]
    if not any(item.get("type") == type for item in items):
        seen = ", ".join(str(item.get("type")) for item in items) or "no items"
        raise Ignored(f"no {type} item in the output (items: {seen}): the tool was accepted but not run")


@check("chat_audio", apis=("chat",))
def chat_audio(ctx: CheckContext) -> None:
    """Chat audio output: ``message.audio`` has an id, base64 ``data`` and a ``transcript``.

    A 200 text-only answer to ``modalities: [text, audio]`` is ignored.
    """
    body = ctx.body or {}
    message = ((body.get("choices") or [{}])[0] or {}).get("message") or {}
    audio = message.get("audio")
    if not isinstance(audio, dict):
        raise Ignored("no message.audio in a 200 answer to modalities [text, audio]")
    problems = [key for key in ("id", "data", "transcript") if not isinstance(audio.get(key), str)]
    if problems:
        raise CheckFailure(f"message.audio lacks string {', '.join(problems)}",
                           None, absent(problems))
    try:
        base64.b64decode(audio["data"], validate=True)
    except (binascii.Error, ValueError):
        raise CheckFailure("message.audio.data is not base64")


def _refusal_problems_chat(body: dict[str, Any]) -> tuple[bool, list[str], list[str]]:
    """(refused, problems, missing) of a chat answer's first choice."""
    choices = body.get("choices") or [{}]
    message = (choices[0] if isinstance(choices[0], dict) else {}).get("message") or {}
    refusal = message.get("refusal")
    if refusal is None or isinstance(refusal, str) and not refusal.strip():
        return False, [], []  # null (or a blank string some servers send for null): the model complied
    if not isinstance(refusal, str):
        return True, [f"message.refusal is {clip(refusal, 60)}, not a string"], []
    content = message.get("content")
    if isinstance(content, str) and content.strip():
        return True, [f"message.content is also set ({clip(content, 60)}): a refusal comes in place of content"], []
    return True, [], []


def _refusal_problems_responses(body: dict[str, Any]) -> tuple[bool, list[str], list[str]]:
    """(refused, problems, missing) of a Responses answer: its ``refusal`` content parts."""
    problems: list[str] = []
    missing: list[str] = []
    refused = False
    texts: list[str] = []
    for i, item in enumerate(body.get("output") or []):
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for j, part in enumerate(item.get("content") or []):
            if not isinstance(part, dict):
                continue
            if part.get("type") == "output_text" and isinstance(part.get("text"), str) and part["text"].strip():
                texts.append(part["text"])
            if part.get("type") != "refusal":
                continue
            refused = True
            where = f"output[{i}].content[{j}]"
            if "refusal" not in part:
                missing.append("refusal")
                problems.append(f"the refusal part {where} has no refusal")
            elif not isinstance(part["refusal"], str) or not part["refusal"].strip():
                problems.append(f"the refusal part {where} holds {clip(part['refusal'], 60)}, not a refusal text")
            if isinstance(part.get("text"), str) and part["text"].strip():
                problems.append(f"the refusal part {where} also carries text (an output_text field)")
    if refused and texts:
        problems.append(f"output_text parts are also set beside the refusal ({clip(texts[0], 60)}): a refusal "
                        f"comes in place of the answer")
    return refused, problems, missing


@check("refusal")
def refusal(ctx: CheckContext) -> None:
    """The refusal shape, where the target produces one: chat ``message.refusal`` is a string with
    ``content`` null, a Responses ``refusal`` content part holds its text in ``refusal`` and no
    output text stands beside it.

    A model that complies is not an API failure: no refusal at all is IGNORED
    (the refusal shape was not exercised). A refusal present but malformed is
    FAIL: a chat ``refusal`` that is not a string, or a refusal beside
    non-empty content (the structured-outputs guide's refusal answer has no
    content, and every recorded OpenAI refusal has ``content: null``); a
    Responses refusal part without a string ``refusal``, with a ``text`` of its
    own, or beside non-empty ``output_text`` parts (recorded refusal parts are
    ``{type, refusal}`` alone in their message).
    """
    body = ctx.body
    if not isinstance(body, dict):
        raise CheckFailure(f"no {ctx.api} object in the answer: {ctx.exchange.excerpt()}")
    judge = _refusal_problems_chat if ctx.api == "chat" else _refusal_problems_responses
    refused, problems, missing = judge(body)
    if problems:
        raise CheckFailure(f"malformed refusal: {summarize(problems)}",
                           {"problems": problems[:10]}, absent(missing, only=len(missing) == len(problems)))
    if not refused:
        text = ctx.observation.text or ""
        raise Ignored(f"no refusal produced; the refusal shape was not exercised (the model answered "
                      f"{clip(text, 120)})")


def _annotation_lists(ctx: CheckContext, body: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(where, annotations value, the text they index) of every message (chat) or output_text part."""
    found = []
    if ctx.api == "chat":
        for i, choice in enumerate(body.get("choices") or []):
            message = choice.get("message") if isinstance(choice, dict) else None
            if isinstance(message, dict) and "annotations" in message:
                text = message.get("content") if isinstance(message.get("content"), str) else ""
                found.append((f"choices[{i}].message", message["annotations"], text))
        return found
    for i, item in enumerate(body.get("output") or []):
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        for j, part in enumerate(item.get("content") or []):
            if isinstance(part, dict) and part.get("type") == "output_text" and "annotations" in part:
                text = part.get("text") if isinstance(part.get("text"), str) else ""
                found.append((f"output[{i}].content[{j}]", part["annotations"], text))
    return found


def _annotation_problems(api: str, annotation: dict[str, Any], kind: str, text: str,
                         where: str) -> tuple[list[str], list[str]]:
    """(problems, missing fields) of one annotation of type ``kind``."""
    fields = annotation
    if api == "chat":
        # chat nests the citation: {type: url_citation, url_citation: {url, title, start_index, end_index}}
        fields = annotation.get(kind)
        if not isinstance(fields, dict):
            if kind in annotation:
                return [f"{where}.{kind} is {clip(fields, 60)}, not an object"], []
            flat = " (its fields are flat, as on Responses)" if "url" in annotation else ""
            return [f"{where} has no {kind} object{flat}"], [kind]
    problems, missing = [], []
    for name, kind_of in ANNOTATION_FIELDS.get(kind, {}).items():
        value = fields.get(name)
        if name not in fields:
            missing.append(name)
            problems.append(f"{where} has no {name}")
        elif not isinstance(value, kind_of) or isinstance(value, bool):
            problems.append(f"{where}.{name} is {clip(value, 60)}, not a {kind_of.__name__}")
    start, end = fields.get("start_index"), fields.get("end_index")
    if all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        # the bound is the text's length in UTF-16 units (>= its length in code points), whichever an API counts
        if not 0 <= start <= end <= len(text.encode("utf-16-le")) // 2:
            problems.append(f"{where} spans [{start}, {end}], outside the {len(text)}-character text")
    return problems, missing


@check("annotations")
def annotations(ctx: CheckContext, type: str = "url_citation") -> None:  # noqa: A002  (the YAML parameter name)
    """The answer's text carries an annotation of ``type`` (default ``url_citation``, a web-search source):
    chat ``message.annotations`` (``{type, url_citation: {url, title, start_index, end_index}}``) or
    Responses ``output_text`` parts' ``annotations`` (``{type, url, title, start_index, end_index}``).

    None of ``type`` in a 2xx is IGNORED (the search was accepted, no sources
    came back). Malformed is FAIL: an ``annotations`` that is not a list, an
    entry without a string ``type``, or an annotation of ``type`` lacking its
    fields (a string ``url`` and ``title``, integer indices within the text),
    or in the other API's shape.
    """
    body = ctx.body
    if not isinstance(body, dict):
        raise CheckFailure(f"no {ctx.api} object in the answer: {ctx.exchange.excerpt()}")
    problems: list[str] = []
    missing: list[str] = []
    count = 0
    for where, value, text in _annotation_lists(ctx, body):
        if not isinstance(value, list):
            problems.append(f"{where}.annotations is {clip(value, 60)}, not a list")
            continue
        for k, annotation in enumerate(value):
            label = f"{where}.annotations[{k}]"
            if not isinstance(annotation, dict) or not isinstance(annotation.get("type"), str):
                problems.append(f"{label} is {clip(annotation, 80)}, not an annotation with a string type")
                continue
            if annotation["type"] != type:
                continue
            count += 1
            found, lacking = _annotation_problems(ctx.api, annotation, type, text, label)
            problems += found
            missing += lacking
    if problems:
        raise CheckFailure(f"malformed annotations: {summarize(problems)}",
                           {"problems": problems[:10]}, absent(sorted(set(missing)), only=len(missing) == len(problems)))
    if not count:
        raise Ignored(f"no {type} annotation in the answer: the request was accepted but no sources came back")
