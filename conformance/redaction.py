"""Secrets: what must never reach a cassette, a report or a log, and how it is replaced.

Three kinds of secret are recognised:

- credential **names**: headers (``authorization``, ``proxy-authorization``, ``api-key``, ``x-api-key``,
  ``cookie``, ``set-cookie``, ``openai-organization``, ``openai-project``, and any name that suggests a key,
  token, secret or password) and URL query parameters named like one (``api-key``, ``key``, ``token``,
  ``sig``, ...): dropped from recordings whatever their value;
- **known values**, registered when a run starts: the key of every chosen target (its ``api_key_env``), the
  ``OPENAI_API_KEY``, ``OPENAI_ORG_ID`` and ``OPENAI_PROJECT_ID`` variables when set, and credential values
  of a base URL's query: replaced wherever they appear (headers, bodies, URLs, messages);
- anything that **looks like an OpenAI credential** (``sk-...``, ``sess-...``, ``org-...``, ``proj_...``):
  replaced too, whoever's it is.

``redact(text)`` replaces values and patterns; ``find(text)`` names what is still there (the final scan of
written files). Values shorter than ``MIN_SECRET`` characters are not treated as secrets: a local server's
placeholder key such as ``none`` would otherwise rewrite every body that contains the word.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Iterator
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

MIN_SECRET = 8
REDACTED = "REDACTED"
# Environment variables whose values are secrets whenever they are set (besides each target's api_key_env).
SECRET_ENVIRONMENT = ("OPENAI_API_KEY", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID")
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie",
                      "openai-organization", "openai-project"}
_CREDENTIAL_WORDS = re.compile(r"key|token|secret|passw|pwd|auth|cookie|credential|session|signature", re.I)
_NOT_CREDENTIALS = ("access-control-",)  # CORS metadata: header *names* as values, never a secret
_QUERY_WORDS = re.compile(r"(^|[-_.])(key|apikey|token|secret|password|passwd|pwd|auth|authorization|sig|"
                          r"signature|credentials?|session|sessionid|code)($|[-_.])|key|token|secret|passw", re.I)
# OpenAI credentials and account ids: sk-... (sk-proj-, sk-svcacct-, sk-admin-), sess-..., org-..., proj_...
_KEY_BODY = r"(sk-)[A-Za-z0-9_-]{20,}|(sess-|org-|proj_)[A-Za-z0-9]{20,}"
KEY_PATTERN = re.compile(rf"(?<![A-Za-z0-9_-])(?:{_KEY_BODY})(?![A-Za-z0-9_-])")
# The pattern without its boundaries: every KEY_PATTERN match in a string is a match of this one in the string's
# JSON text too (the characters it spans are never escaped; a boundary may be, e.g. a newline before ``sk-``).
_KEY_CANDIDATE = re.compile(_KEY_BODY)
# Every KEY_PATTERN match starts with one of these: text without them is skipped without running the pattern
KEY_PREFIXES = ("sk-", "sess-", "org-", "proj_")

_known: dict[str, str] = {}  # value -> what it is ("the value of OPENAI_API_KEY")
_compiled: re.Pattern[str] | None = None


def secret_header(name: str) -> bool:
    """True for a header that carries a credential (case-insensitive)."""
    name = name.lower()
    if name in CREDENTIAL_HEADERS:
        return True
    return not name.startswith(_NOT_CREDENTIALS) and _CREDENTIAL_WORDS.search(name) is not None


def secret_parameter(name: str) -> bool:
    """True for a URL query parameter whose name says it carries a credential (``api-key``, ``token``...)."""
    return _QUERY_WORDS.search(name) is not None


def register(value: str | None, what: str) -> None:
    """Treat ``value`` as a secret from now on (in this process), also in its URL-encoded forms."""
    global _compiled
    if not value or len(value) < MIN_SECRET:
        return
    for form in {value, quote(value, safe=""), quote_plus(value)}:
        _known.setdefault(form, what)
    _compiled = None


def register_environment() -> None:
    """Register the values of ``SECRET_ENVIRONMENT`` that are set."""
    for name in SECRET_ENVIRONMENT:
        register(os.environ.get(name), f"the value of {name}")


def register_url(url: str, what: str) -> None:
    """Register the password of a URL's userinfo and the values of its credential-like query parameters."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return
    register(password, f"the password in {what}")
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if secret_parameter(name):
            register(value, f"the {name} parameter of {what}")


def forget_all() -> None:
    """Forget every registered value (tests)."""
    global _compiled
    _known.clear()
    _compiled = None


def known() -> dict[str, str]:
    """The registered values and what each is."""
    return dict(_known)


def _values() -> re.Pattern[str] | None:
    global _compiled
    if _compiled is None and _known:
        _compiled = re.compile("|".join(re.escape(v) for v in sorted(_known, key=len, reverse=True)))
    return _compiled


def _pattern_replacement(match: re.Match[str]) -> str:
    return (match.group(1) or match.group(2)) + REDACTED


def redact(text: str) -> str:
    """``text`` with every known secret value and every OpenAI-credential-like string replaced."""
    if not isinstance(text, str) or not text:
        return text
    values = _values()
    if values is not None:
        text = values.sub(REDACTED, text)
    if not any(prefix in text for prefix in KEY_PREFIXES):
        return text
    return KEY_PATTERN.sub(_pattern_replacement, text)


def redact_bytes(data: bytes) -> bytes:
    """``redact`` for bytes: UTF-8 text is redacted as text; other bytes have the ASCII forms replaced."""
    if not data:
        return data
    try:
        return redact(data.decode("utf-8")).encode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # one character per byte: ASCII secrets are found and replaced in place
        return redact(text).encode("latin-1")


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like value (dicts, lists, strings) with every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(k) if isinstance(k, str) else k: redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_value(v) for v in value]
    return value


def redact_document_text(value: Any) -> tuple[Any, str | None]:
    """``redact_value(value)`` for a large JSON document, without walking it when its JSON text (made by the C
    encoder) shows nothing to redact: no credential-like string and no known value. Returns the document and,
    when the search found nothing to redact, that text (``json.dumps(value, ensure_ascii=False)``: a caller
    writing the document need not encode it again); else None (and None when the value is not JSON)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return redact_value(value), None
    # JSON escapes character by character, so a string holding a value holds the value's escaped form in the text
    if (next(_credential_like(text, _KEY_CANDIDATE), None) is not None
            or any(json.dumps(known_value, ensure_ascii=False)[1:-1] in text for known_value in _known)):
        return redact_value(value), None
    return value, text


def redact_url(url: str) -> str:
    """A URL without userinfo and credential-like query parameters, its remaining secrets redacted."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    netloc = parts.netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        kept = [(name, value) for name, value in pairs if not secret_parameter(name)]
        if len(kept) != len(pairs):
            query = urlencode(kept)
    if netloc != parts.netloc or query != parts.query:
        url = urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    return redact(url)


def find(text: str) -> list[str]:
    """What secrets ``text`` still holds: descriptions of known values, and ``looks like an OpenAI key
    (sk-...)`` for pattern matches. Empty when clean."""
    found = []
    values = _values()
    if values is not None:
        found += sorted({_known[m.group(0)] for m in values.finditer(text)})
    found += sorted({f"a string that looks like an OpenAI credential ({m.group(1) or m.group(2)}...)"
                     for m in _credential_like(text)})
    return found


def _credential_like(text: str, pattern: re.Pattern[str] = KEY_PATTERN) -> Iterator[re.Match[str]]:
    """KEY_PATTERN's matches (or ``_KEY_CANDIDATE``'s), tried only where one of its prefixes occurs (a report is
    megabytes of text: ``str.find`` skips through it many times faster than the pattern's own search)."""
    for prefix in KEY_PREFIXES:
        start = text.find(prefix)
        while start != -1:
            match = pattern.match(text, start)  # its look-behind sees the text before ``start``
            if match:
                yield match
            start = text.find(prefix, start + 1)
