"""Known verdicts per target: verdict and failing checks compared, intermittent findings set aside narrowly."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.verdicts import expectations
from conformance.verdicts.expectations import Known
from conformance.verdicts.results import CaseResult
from conformance.checks.findings import Failure, Verdict
from conformance.verdicts.policy import combine


def result(*failures: Failure, case: str = "c") -> CaseResult:
    return CaseResult(target="t", capability="cap", case=case, api="chat", stream=True,
                      verdict=combine(list(failures)), failures=list(failures))


DRIFT = Failure("chat_stream_chunks", "event #5 (chunk): created 2 differs from the first chunk's 1", Verdict.FAIL)
ROLE = Failure("chat_stream_chunks", "event #0 (chunk): the first chunk has no role", Verdict.FAIL)
IGNORED = Failure("tool_called", "no call", Verdict.IGNORED)
USAGE = Failure("usage_plausible", "zero usage", Verdict.FAIL)
FLAKY = "intermittent:\n  chat_stream_chunks: {why: timing, match: 'created \\d+ differs'}\nknown: {}\n"


def test_unlisted_results_are_expected_to_pass_with_no_finding(tmp_path: Path) -> None:
    known = expectations.load(tmp_path, "t")
    assert known.expected(result(IGNORED)) == Known()
    assert known.observed(result(IGNORED)) == Known(Verdict.IGNORED, frozenset({"tool_called"}))


def test_only_matching_findings_of_an_intermittent_check_are_set_aside(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(FLAKY)
    known = expectations.load(tmp_path, "t")
    assert known.observed(result(DRIFT)) == Known()
    assert known.observed(result(ROLE)).verdict is Verdict.FAIL  # same check, another rule: still counted
    assert known.intermittent_found(result(DRIFT, IGNORED)) == ["chat_stream_chunks"]


def test_a_new_finding_in_a_known_gap_is_a_difference() -> None:
    expected = Known(Verdict.FAIL, frozenset({"usage_plausible"}))
    assert expectations.difference(expected, Known(Verdict.FAIL, frozenset({"usage_plausible"}))) == ""
    message = expectations.difference(expected, Known(Verdict.FAIL, frozenset({"usage_plausible", "schema"})))
    assert message == "new findings from schema"
    assert "expected fail, got pass" in expectations.difference(expected, Known())


def test_write_keeps_intermittent_and_names_the_deciding_finding(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(FLAKY)
    expectations.write(tmp_path, "t", [result(DRIFT, case="a"), result(IGNORED, USAGE, case="b"), result(case="c")])
    known = expectations.load(tmp_path, "t")
    assert known.intermittent["chat_stream_chunks"]["why"] == "timing"
    assert known.known == {"cap/b.chat.stream": Known(Verdict.FAIL, frozenset({"tool_called", "usage_plausible"}))}
    assert "why: 'usage_plausible: zero usage'" in (tmp_path / "t.yaml").read_text()


def test_write_refuses_to_bless_suite_errors(tmp_path: Path) -> None:
    broken = result(Failure("status", "no answer", Verdict.ERROR))
    with pytest.raises(expectations.BlessingError, match="cap/c.chat.stream"):
        expectations.write(tmp_path, "t", [broken])


def test_outcome_policy() -> None:
    gap = Known(Verdict.IGNORED, frozenset({"json_output"}))
    assert expectations.outcome(Known(), Known()) == ("pass", "")
    assert expectations.outcome(gap, gap) == ("xfail", "known ignored")
    assert expectations.outcome(gap, Known())[0] == "fail" and "unexpected pass" in expectations.outcome(gap, Known())[1]
    assert expectations.outcome(Known(), gap)[0] == "fail"
    error = Known(Verdict.ERROR, frozenset({"status"}))
    assert expectations.outcome(error, error) == ("fail", "suite error")
