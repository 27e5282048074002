"""Fields and events that appeared over time, and the ``stale`` verdict they allow.

A recording that lacks something OpenAI only started sending after the recording
was made is not wrong, it is old: such a finding becomes ``stale``, naming what is
missing. The same absence in a recording made after the API always sent it is a
real deviation and stays ``fail`` (that is how a compatible server's cassette
without ``sequence_number`` is caught). When the recording date is unknown the
recording gets the benefit of the doubt.

The table of what appeared when (``HISTORY``, with each entry's ``since``) is
``conformance/api/history.py``, shared with the ``schema`` check.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Any

from conformance.api.history import appeared
from conformance.checks.findings import Failure, Verdict
from conformance.transport.exchange import Exchange

# Sanity bounds for a recording date read from a body (placeholders such as 0 are not dates).
_EARLIEST = dt.date(2020, 6, 1)


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


def recording_date(date_header: str | None, exchange: Exchange) -> dt.date | None:
    """When the answer was recorded: the ``Date`` header, else the body's ``created``/``created_at``.

    Recorders that scrub the header (``"Sanitized"``, or dropped) leave the body's
    timestamp, which OpenAI sets when it creates the object. None when neither is usable.
    """
    if date_header:
        try:
            return parsedate_to_datetime(date_header).date()
        except (TypeError, ValueError, IndexError):
            pass
    body = exchange.json
    if not isinstance(body, dict) and exchange.is_sse:
        for event in exchange.events[:3]:
            if isinstance(event.json, dict):
                body = event.json.get("response") if isinstance(event.json.get("response"), dict) else event.json
                break
    if isinstance(body, dict):
        return _from_timestamp(body.get("created_at", body.get("created")))
    return None


def judge(failure: Failure, api: str | None, recorded: dt.date | None) -> Failure:
    """The audit verdict of one finding: ``stale`` when it is only about late additions, else ``fail``.

    Stale needs the finding's ``Missing`` evidence to say ``only`` (absence is the whole
    problem), every missing name to be in HISTORY for this API, and the recording to
    predate (or have no known date) the month from which OpenAI always sent each one.
    """
    if failure.verdict == Verdict.STALE:
        return failure
    missing = failure.missing
    entries = [appeared(api, name) for name in missing.fields] if missing is not None and missing.only else []
    if entries and all(entries) and all(recorded is None or recorded < _month_start(e.since) for e in entries):
        when = f"recorded {recorded.isoformat()}" if recorded else "recording date unknown"
        names = ", ".join(f"{e.name} (always sent since {e.since})" for e in entries)
        message = f"stale ({when}): lacks {names}; {failure.message}"
        return replace(failure, message=message, verdict=Verdict.STALE)
    if failure.verdict == Verdict.FAIL:
        return failure
    # the audit knows two outcomes for a finding: any other verdict (unsupported, ignored, error) is a failure
    return replace(failure, verdict=Verdict.FAIL)
