"""History: a finding only about fields that appeared later is stale for old recordings, fail for new ones."""

from __future__ import annotations

import datetime as dt
import random
from email.utils import parsedate_to_datetime

import pytest

from conformance.api.history import HISTORY, appeared
from conformance.verdicts import stale
from conformance.verdicts.stale import judge, recording_date
from conformance.transport.exchange import Exchange
from conformance.checks.findings import Failure, Verdict, absent


def finding(missing, only_missing=True, verdict=Verdict.FAIL):
    return Failure("schema", "missing required fields", verdict, missing=absent(missing, only=only_missing))


OLD, NEW = dt.date(2025, 4, 1), dt.date(2026, 8, 20)


def test_old_recording_lacking_a_later_field_is_stale_and_names_it():
    judged = judge(finding(["sequence_number"]), "responses", OLD)
    assert judged.verdict == Verdict.STALE
    assert "sequence_number" in judged.message and "2025-04-01" in judged.message


def test_new_recording_lacking_it_fails():
    assert judge(finding(["sequence_number"]), "responses", NEW).verdict == Verdict.FAIL


def test_unknown_date_gets_the_benefit_of_the_doubt():
    judged = judge(finding(["sequence_number"]), "responses", None)
    assert judged.verdict == Verdict.STALE and "date unknown" in judged.message


@pytest.mark.parametrize("missing, only_missing, api", [
    (["sequence_number", "id"], True, "responses"),  # one name is not a late addition
    (["sequence_number"], False, "responses"),  # wrong values besides the absence
    (["completed_at"], True, "chat"),  # a Responses field, absent from a chat body: not history
    ([], True, "responses"),
])
def test_everything_else_fails(missing, only_missing, api):
    assert judge(finding(missing, only_missing), api, OLD).verdict == Verdict.FAIL


def test_every_missing_name_must_predate_its_own_month():
    # cache_write_tokens is recent (2026-08), service_tier old (2025-06): a 2026-01 recording lacking both fails
    both = finding(["cache_write_tokens", "service_tier"])
    assert judge(both, "responses", dt.date(2026, 1, 10)).verdict == Verdict.FAIL
    assert judge(both, "responses", dt.date(2025, 5, 10)).verdict == Verdict.STALE


@pytest.mark.parametrize("verdict", [Verdict.IGNORED, Verdict.UNSUPPORTED])
def test_other_verdicts_become_fail(verdict):
    assert judge(Failure("x", "y", verdict), "chat", OLD).verdict == Verdict.FAIL


def test_an_error_stays_an_error():
    # a check that crashed is the suite's problem (exit 3), never blamed on the recording
    assert judge(Failure("x", "the check crashed: TypeError", Verdict.ERROR), "chat", OLD).verdict == Verdict.ERROR


def test_a_stale_finding_stays_stale():
    assert judge(Failure("x", "y", Verdict.STALE), "chat", NEW).verdict == Verdict.STALE


def test_table_is_well_formed():
    for entry in HISTORY:
        assert entry.api in ("chat", "responses")
        assert entry.first_seen <= entry.since, entry
        assert appeared(entry.api, entry.name) is entry
    assert appeared("chat", "sequence_number") is None


def test_recording_date_sources():
    chat = Exchange("POST", "https://x/v1/chat/completions", status=200, headers={"content-type": "application/json"},
                    text='{"object": "chat.completion", "created": 1735732800}')
    assert recording_date("Tue, 01 Apr 2025 10:00:00 GMT", chat) == dt.date(2025, 4, 1)
    assert recording_date("Sanitized", chat) == dt.date(2025, 1, 1)  # scrubbed header: the body's created time
    stream = Exchange("POST", "https://x/v1/responses", status=200, headers={"content-type": "text/event-stream"},
                      text='event: response.created\ndata: {"type": "response.created", '
                           '"response": {"created_at": 1756684800}}\n\n')
    assert recording_date(None, stream) == dt.date(2025, 9, 1)
    placeholder = Exchange("POST", "https://x/v1/chat/completions", status=200,
                           headers={"content-type": "application/json"}, text='{"created": 0}')
    assert recording_date(None, placeholder) is None


def _general_parser_day(header):
    """What ``email.utils`` makes of a Date header (the reference the fast path must equal)."""
    try:
        return parsedate_to_datetime(header).date()
    except (TypeError, ValueError, IndexError):
        return None


def test_http_dates_read_directly_equal_the_general_parser():
    """The IMF-fixdate fast path gives the general parser's day, or leaves the header to it; mutating the month
    table or a field's position fails this."""
    generator = random.Random(8)
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "Xyz"]
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Foo", "jan"]
    headers = ["Sanitized", "", "Tue, 01 Apr 2025 10:00:00 GMT ", "Tue, 1 Apr 2025 10:00:00 GMT",
               "Tue, 01 Apr 25 10:00:00 GMT", "Tue, 01 Apr 2025 10:00:00 +0200", "Tue, 01 Apr 2025 23:30:00 -0200",
               "Tue, 31 Feb 2025 10:00:00 GMT", "Tue, 00 Apr 2025 10:00:00 GMT", "Tue, 01 Apr 0000 10:00:00 GMT",
               "Tue, 01 Apr 2025 24:00:00 GMT", "Tue, 01 Apr 2025 10:60:00 GMT", "Tue, 01 Apr 2025 10:00:60 GMT",
               "Tuesday, 01-Apr-25 10:00:00 GMT", "Tue Apr  1 10:00:00 2025", "Tue, 01 Apr 2025 10:00:00 UTC",
               "Sun, 06 Nov 0094 08:49:37 GMT", "Mon, 06 Nov 0050 08:49:37 GMT", "Mon, 06 Nov 0100 08:49:37 GMT"]
    for _ in range(3000):
        headers.append(f"{generator.choice(days)}, {generator.randint(0, 32):02d} {generator.choice(months)} "
                       f"{generator.choice([1999, 2023, 2024, 2025, 2026, 9999, 10000])} "
                       f"{generator.randint(0, 25):02d}:{generator.randint(0, 61):02d}:{generator.randint(0, 61):02d} "
                       f"{generator.choice(['GMT', 'GMT', 'UT', '+0000', '-0500'])}")
    body = Exchange("POST", "https://x/v1/chat/completions", status=200, headers={"content-type": "application/json"},
                    text='{"object": "chat.completion", "created": 1735732800}')
    direct = 0
    for header in headers:
        expected = _general_parser_day(header) or dt.date(2025, 1, 1)  # unusable: the body's created time
        assert recording_date(header, body) == expected, header
        direct += stale._IMF_FIXDATE.fullmatch(header) is not None
    assert direct > 500  # the fast path was exercised, not only the fallback


# -- roles (issue 8): a missing informational field never fails; a protocol field is looked up in its own role ---------

def role_aware(missing, informational=(), verdict=Verdict.FAIL):
    return Failure("schema", "missing required fields", verdict, missing=absent(missing, informational=informational))


def test_an_informational_absence_is_a_note_after_its_month_and_stale_before():
    after = judge(role_aware(["moderation"], ["moderation"], Verdict.PASS), "responses", NEW)
    assert after.verdict == Verdict.PASS  # a note: OpenAI does not always send it
    before = judge(role_aware(["moderation"], ["moderation"], Verdict.PASS), "responses", OLD)
    assert before.verdict == Verdict.STALE and "moderation (sent since 2026-06)" in before.message
    # even a check that argued for fail cannot make an informational absence fail
    assert judge(role_aware(["billing"], ["billing"]), "responses", NEW).verdict == Verdict.PASS


def test_a_protocol_absence_is_looked_up_in_its_own_role():
    # `summary` in history is the reasoning.summary echo (informational): it never excuses the item's summary
    assert judge(role_aware(["summary"]), "responses", OLD).verdict == Verdict.FAIL
    assert judge(role_aware(["sequence_number"]), "responses", OLD).verdict == Verdict.STALE
    assert judge(role_aware(["sequence_number"]), "responses", NEW).verdict == Verdict.FAIL
    # protocol and informational together: the protocol field decides, the informational one never fails
    mixed = role_aware(["sequence_number", "moderation"], ["moderation"])
    assert judge(mixed, "responses", NEW).verdict == Verdict.FAIL
    assert judge(mixed, "responses", dt.date(2025, 5, 1)).verdict == Verdict.STALE


def test_a_finding_without_roles_takes_any_entry_of_the_name():
    # the official-document check (--openapi) does not know roles: a late field of either role may make it stale
    assert judge(finding(["moderation"]), "responses", OLD).verdict == Verdict.STALE
    assert judge(finding(["moderation"]), "responses", NEW).verdict == Verdict.FAIL


def test_judge_takes_a_refitted_table():
    from dataclasses import replace

    from conformance.api.history import PROTOCOL, index
    later = index([replace(appeared("responses", "sequence_number"), since="2027-01")])
    assert judge(role_aware(["sequence_number"]), "responses", NEW, later).verdict == Verdict.STALE
    assert judge(role_aware(["sequence_number"]), "responses", NEW, index([])).verdict == Verdict.FAIL
    assert appeared("responses", "sequence_number", PROTOCOL).place == "every stream event"


def test_every_entry_has_a_role_and_a_place():
    from conformance.api.history import ROLES
    assert all(entry.role in ROLES and entry.place for entry in HISTORY)
    assert [e.name for e in HISTORY if e.role == "protocol"] == ["sequence_number"]
