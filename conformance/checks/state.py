"""Probes of what a server keeps: the input items of a stored response, the messages of a stored chat
completion, a filtered list of stored chat completions, and a citation of a file the case uploaded.

Verdicts follow the policy (``conformance/verdicts/policy.py``): a 2xx answer without the kept object or
without the requested filtering is IGNORED (the request was accepted, the behaviour is absent); a 2xx
answer that is not the documented list is FAIL; a 404 from an object lookup is IGNORED (nothing was kept);
any other 4xx is UNSUPPORTED. A missing route is the ``status`` check's root cause.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conformance.api.arguments import clip
from conformance.checks.behaviour import created_id, lookup_404
from conformance.checks.findings import CheckFailure, Ignored, Unsupported
from conformance.checks.http import error_message
from conformance.checks.registry import CheckContext, check
from conformance.observations.observation import result_object
from conformance.transport.exchange import Exchange


def _list_items(ctx: CheckContext, object_id: str) -> list[dict[str, Any]]:
    """The judged answer's ``data`` list; the verdict for an answer that is not one."""
    answer = ctx.exchange
    evidence = {"status": answer.status, "id": object_id, "body": answer.excerpt(300)}
    if answer.status is not None and not answer.ok:
        message = error_message(answer.json) or answer.excerpt(120)
        if lookup_404(answer, object_id):
            raise Ignored(f"the object {object_id!r} was not kept (404: {message})", evidence)
        if 400 <= answer.status < 500:
            raise Unsupported(f"rejected with {answer.status}: {message}", evidence)
        raise CheckFailure(f"answered {answer.status}: {message}", evidence)
    body = answer.json
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise CheckFailure(f"the answer is not a list object with a data array: {answer.excerpt(160)}", evidence)
    return [item for item in data if isinstance(item, dict)]


def _texts(content: Any) -> list[str]:
    """The texts of a message's content (a string, or parts with a ``text``), without surrounding blanks."""
    if isinstance(content, str):
        return [content.strip()]
    if isinstance(content, list):
        return [part["text"].strip() for part in content
                if isinstance(part, dict) and isinstance(part.get("text"), str)]
    return []


def _listed_texts(item: dict[str, Any]) -> list[str]:
    """The texts of a listed item: its ``content_parts`` when it has them (a stored chat message joins its
    parts' texts into ``content``), else its ``content``."""
    parts = item.get("content_parts")
    return _texts(parts if isinstance(parts, list) and parts else item.get("content"))


def _sent_texts(exchange: Exchange, key: str) -> list[str]:
    """The user texts a create request sent: Responses ``input`` (a string or message items), chat ``messages``."""
    request = exchange.request_body if isinstance(exchange.request_body, dict) else {}
    sent = request.get(key)
    if isinstance(sent, str):
        return [sent]
    return [text for item in sent if isinstance(item, dict) for text in _texts(item.get("content"))] \
        if isinstance(sent, list) else []


def _one_page(ctx: CheckContext) -> bool:
    """True when the judged list is a page of a longer one (``has_more``, or asked for with after/before)."""
    body = ctx.exchange.json if isinstance(ctx.exchange.json, dict) else {}
    query = dict(parse_qsl(urlsplit(ctx.exchange.url).query))
    return body.get("has_more") is True or "after" in query or "before" in query


def _lists_what_was_sent(ctx: CheckContext, of: str, key: str, what: str) -> None:
    """The judged list holds the texts step ``of`` sent under ``key`` (on a page: its texts were all sent)."""
    object_id = created_id(ctx, of)
    items = _list_items(ctx, object_id)
    wanted = _sent_texts(ctx.get(of), key)
    listed = [text for item in items for text in _listed_texts(item)]
    evidence = {"listed": listed[:10], "sent": wanted[:10]}
    if _one_page(ctx):
        strays = [text for text in listed if text not in wanted]
        if strays:
            raise Ignored(f"the {what} of {object_id!r} on this page were not sent: {clip(strays or listed, 120)}",
                          evidence)
        return
    missing = [text for text in wanted if text not in listed]
    if missing:
        raise Ignored(f"the {what} of {object_id!r} lack what was sent ({clip(missing[0], 80)}); "
                      f"listed: {clip(listed, 120)}", evidence)


@check("input_items_listed", needs_success=False, apis=("responses",))
def input_items_listed(ctx: CheckContext, of: str) -> None:
    """The judged ``GET /responses/{id}/input_items`` lists the input step ``of`` sent: a ``list`` whose
    ``data`` holds its texts (a string input is one user message; a page holds only texts that were sent)."""
    _lists_what_was_sent(ctx, of, "input", "input items")


@check("stored_messages", needs_success=False, apis=("chat",))
def stored_messages(ctx: CheckContext, of: str) -> None:
    """The judged ``GET /chat/completions/{id}/messages`` lists the messages step ``of`` sent (their texts;
    a page holds only texts that were sent)."""
    _lists_what_was_sent(ctx, of, "messages", "stored messages")


def metadata_filter(url: str) -> dict[str, str]:
    """The ``metadata[key]=value`` filters of a list request's query."""
    return {key[len("metadata["):-1]: value for key, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)
            if key.startswith("metadata[") and key.endswith("]")}


@check("stored_list", needs_success=False)
def stored_list(ctx: CheckContext, of: str) -> None:
    """The judged list of stored objects holds step ``of``'s object, and every item matches the request's
    ``metadata[key]=value`` filters (an item that does not: the filter was accepted but not applied)."""
    object_id = created_id(ctx, of)
    items = _list_items(ctx, object_id)
    ids = [item.get("id") for item in items]
    if object_id not in ids:
        raise Ignored(f"the stored object {object_id!r} is not in the list ({len(ids)} items: {clip(ids, 120)})",
                      {"ids": ids[:20]})
    wanted = metadata_filter(ctx.exchange.url)
    strays = [item.get("id") for item in items
              if any(not isinstance(item.get("metadata"), dict) or item["metadata"].get(key) != value
                     for key, value in wanted.items())]
    if strays:
        raise Ignored(f"{len(strays)} of {len(items)} listed items do not match the filter {wanted}: "
                      f"{clip(strays, 120)}", {"filter": wanted, "strays": strays[:10]})


@check("cites_file", apis=("responses",))
def cites_file(ctx: CheckContext, of: str) -> None:
    """The answer's text carries a ``file_citation`` annotation naming the file step ``of`` uploaded
    (its ``file_id``). No citation of it: IGNORED (the answer came without its source)."""
    file_id = created_id(ctx, of)
    body = result_object(ctx.exchange) or {}
    cited = [annotation for item in body.get("output") or [] if isinstance(item, dict)
             for part in item.get("content") or [] if isinstance(part, dict)
             for annotation in part.get("annotations") or [] if isinstance(annotation, dict)
             and annotation.get("type") == "file_citation"]
    if not any(annotation.get("file_id") == file_id for annotation in cited):
        named = [annotation.get("file_id") for annotation in cited]
        raise Ignored(f"no file_citation of the uploaded file {file_id!r} in the answer"
                      + (f" (citations name {clip(named, 80)})" if cited else ""), {"cited": named[:10]})
