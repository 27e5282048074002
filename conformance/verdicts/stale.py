"""Fields and events that appeared over time, and the ``stale`` verdict they allow.

A recording that lacks something OpenAI only started sending after the recording
was made is not wrong, it is old: such a finding becomes ``stale``, naming what is
missing. What the same absence means in a later recording depends on the field's role:

- a **protocol** field (``sequence_number``): a real deviation, ``fail`` (that is how a
  compatible server's cassette without ``sequence_number`` is caught);
- an **informational** field (``billing``, ``moderation``, ``cache_write_tokens``, request
  echoes, ...): never ``fail``. The check already reports it as a note (verdict pass, shown
  beside the verdict: "OpenAI does not always send it"); the audit makes that note ``stale``
  when the recording predates the month from which OpenAI sent the field, and leaves it a
  note otherwise.

When the recording date is unknown the recording gets the benefit of the doubt. The table of
what appeared when (``HISTORY``, with each entry's role and ``since``) is
``conformance/api/history.py``; ``judge`` takes another table (a refitted one, in
``benchmarks/leave_one_out.py``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any

from conformance.api.history import HISTORY, INFORMATIONAL, PROTOCOL, Appeared, appeared, index
from conformance.checks.findings import Failure, Verdict
from conformance.transport.exchange import Exchange

# Sanity bounds for a recording date read from a body (placeholders such as 0 are not dates).
_EARLIEST = dt.date(2020, 6, 1)
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
_IMF_FIXDATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (%s) (\d{4}) (?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d GMT"
                          % "|".join(_MONTHS))
History = dict[tuple[str, str, str], Appeared]  # (api, name, role) -> entry
_TABLE: History = index(HISTORY)
__all__ = ["History", "appeared", "judge", "recording_date"]


@lru_cache(maxsize=None)
def _month_start(month: str) -> dt.date:
    year, mon = month.split("-")
    return dt.date(int(year), int(mon), 1)


def _from_timestamp(value: Any) -> dt.date | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        day = dt.datetime.fromtimestamp(value, dt.timezone.utc).date()
    except (OverflowError, OSError, ValueError):
        return None
    return day if _EARLIEST <= day <= dt.date.today() + dt.timedelta(days=366) else None


def _http_date(header: str) -> dt.date | None:
    """The day of an HTTP ``Date`` header, as ``email.utils.parsedate_to_datetime`` reads it; None when unusable.

    The form every HTTP server sends (IMF-fixdate, ``Sun, 06 Nov 1994 08:49:37 GMT``) is read directly: the
    general parser costs more than all of a recording's other dating (it runs once per interaction).
    """
    match = _IMF_FIXDATE.fullmatch(header)
    if match is not None and int(match[3]) >= 100:  # a year below 100 is two-digit to the general parser
        try:
            return dt.date(int(match[3]), _MONTHS[match[2]], int(match[1]))
        except ValueError:
            pass  # a day the month has not (the general parser raises too): left to it, to say so alike
    try:
        return parsedate_to_datetime(header).date()
    except (TypeError, ValueError, IndexError):
        return None


def recording_date(date_header: str | None, exchange: Exchange) -> dt.date | None:
    """When the answer was recorded: the ``Date`` header, else the body's ``created``/``created_at``.

    Recorders that scrub the header (``"Sanitized"``, or dropped) leave the body's
    timestamp, which OpenAI sets when it creates the object. None when neither is usable.
    """
    if date_header:
        day = _http_date(date_header)
        if day is not None:
            return day
    body = exchange.json
    if not isinstance(body, dict) and exchange.is_sse:
        for event in exchange.events[:3]:
            if isinstance(event.json, dict):
                body = event.json.get("response") if isinstance(event.json.get("response"), dict) else event.json
                break
    if isinstance(body, dict):
        return _from_timestamp(body.get("created_at", body.get("created")))
    return None


def judge(failure: Failure, api: str | None, recorded: dt.date | None, history: History | None = None) -> Failure:
    """The audit verdict of one finding: ``stale`` when it is only about late additions, a note when it is only
    about informational fields OpenAI does not always send, else ``fail``.

    Stale needs the finding's ``Missing`` evidence to say ``only`` (absence is the whole problem), every
    missing name that matters to have a ``history`` entry of its role for this API, and the recording to
    predate (or have no known date) the month from which OpenAI sent each one. The names that matter are the
    protocol ones; when there are none (an informational absence, reported by the check as a note), the
    informational ones decide between ``stale`` and the note.
    """
    table = _TABLE if history is None else history
    if failure.verdict == Verdict.STALE:
        return failure
    missing = failure.missing
    if missing is not None and missing.only and missing.fields and not missing.protocol:
        note = failure if failure.verdict == Verdict.PASS else replace(failure, verdict=Verdict.PASS)
        return _stale(note, api, recorded, table, missing.fields, INFORMATIONAL) or note
    if failure.verdict == Verdict.PASS:
        return failure  # a note without absent fields: information as the check gave it
    if missing is not None and missing.only:
        found = _stale(failure, api, recorded, table, missing.protocol, PROTOCOL if missing.roles else None)
        if found is not None:
            return found
    if failure.verdict in (Verdict.FAIL, Verdict.ERROR):
        return failure  # an error is the suite's own (a check that crashed): never blamed on the recording
    # the audit judges recordings, not capabilities: an unsupported or ignored finding is a failure of the answer
    return replace(failure, verdict=Verdict.FAIL)


def _stale(failure: Failure, api: str | None, recorded: dt.date | None, table: History, names: tuple[str, ...],
           role: str | None) -> Failure | None:
    """``failure`` made stale when every one of ``names`` is a late addition of ``role`` the recording predates
    (any role when None: the check did not know the roles)."""
    entries = [table.get((api or "", name, role)) if role else
               table.get((api or "", name, PROTOCOL)) or table.get((api or "", name, INFORMATIONAL)) for name in names]
    if not entries or not all(entries) or not all(recorded is None or recorded < _month_start(e.since)
                                                   for e in entries):
        return None
    when = f"recorded {recorded.isoformat()}" if recorded else "recording date unknown"
    how = "sent" if role == INFORMATIONAL else "always sent"
    listed = ", ".join(f"{e.name} ({how} since {e.since})" for e in entries)
    return replace(failure, message=f"stale ({when}): lacks {listed}; {failure.message}", verdict=Verdict.STALE)
