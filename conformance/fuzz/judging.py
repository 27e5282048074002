"""Judging one answer to a generated request: schemathesis' checks, then the suite's own.

schemathesis' checks (``SCHEMATHESIS_CHECKS``) run through ``Case.validate_response``. The suite's checks
run on an Exchange built from the same answer, as ``conformance audit`` runs them: every implicit check
(the profile's contracts, documented shapes, ``object`` values, id prefixes, usage names, the stream
grammar when the request asked for a stream) and ``error_envelope`` on 4xx/5xx answers.

Each problem falls in one of the matrix's categories (``CATEGORIES``) and carries a *signature*: the same
deviation seen on many requests is one finding, counted, shrunk once, reported once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conformance.checks import CHECKS, CheckContext, implicit_checks, run_check
from conformance.checks.findings import Verdict
from conformance.checks.openapi import failures_of, where
from conformance.fuzz.sending import Sent

SCHEMATHESIS_CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                       "response_schema_conformance", "negative_data_rejection")
ENVELOPE_CHECK = "error_envelope"
TRANSPORT = "transport"  # no answer at all (a dropped connection, a timeout)
CATEGORIES = {
    "server_errors": "server errors",
    "envelope": "envelope violations",
    "accepted_invalid": "silently accepted invalid input",
    "schema": "schema violations on valid input",
    "other": "other deviations in answers to invalid input",
}
# Most severe first: the order findings are shrunk and reported in.
PRIORITY = ("server_errors", "envelope", "schema", "accepted_invalid", "other")


@dataclass(frozen=True)
class Problem:
    """One deviation seen in one answer."""

    check: str  # a schemathesis check, a suite check, or "transport"
    category: str  # a key of CATEGORIES
    signature: str  # what makes two problems "the same finding"
    message: str
    verdict: Verdict


def category_of(check: str, status: int | None, mode: str) -> str:
    """The matrix category of a problem found by ``check`` on an answer with ``status`` to a ``mode`` request."""
    if check in ("not_a_server_error", TRANSPORT):
        return "server_errors"
    if check == ENVELOPE_CHECK or (check == "response_schema_conformance" and (status or 0) >= 400):
        return "envelope"
    if check == "negative_data_rejection":
        return "accepted_invalid"
    return "schema" if mode == "positive" else "other"


def _generic(message: str) -> str:
    """A message with its values taken out (numbers, quoted text) and no whitespace: two answers with the same
    deviation on different values give the same text, and so does a body excerpt as the server sent it (live)
    and as the cassette keeps it (pretty-printed, replay)."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "…", message or "")
    return re.sub(r"\d+(\.\d+)?", "N", re.sub(r"\s+", "", text))[:160]


def _check_name(failure: Any) -> str:
    names = getattr(failure, "checks", ()) or ()
    for name in names:
        if name in SCHEMATHESIS_CHECKS:
            return name
    return names[0] if names else type(failure).__name__


def _component(failure: Any) -> str:
    """What a negative case broke (``Invalid component: ...`` of schemathesis' message), on one line."""
    text = str(getattr(failure, "message", ""))
    part = text.split("Invalid component:", 1)[1] if "Invalid component:" in text else ""
    return " ".join(line.strip(" -") for line in part.splitlines() if line.strip())[:300]


def _first_line(failure: Any) -> str:
    lines = [line.strip() for line in str(getattr(failure, "message", "")).splitlines() if line.strip()]
    return lines[0] if lines else ""


class Judge:
    """Judges answers of one API under one profile."""

    def __init__(self, api: str, profile: str, deterministic: bool = False):
        import schemathesis.checks as st_checks

        self.api = api
        self.profile = profile
        self.deterministic = deterministic
        self.checks = [getattr(st_checks, name) for name in SCHEMATHESIS_CHECKS]
        self.suite_checks = list(implicit_checks())

    def __call__(self, case: Any, sent: Sent) -> list[Problem]:
        """Every problem of one answer (none when it is fine)."""
        label, mode, exchange = sent.operation, sent.mode, sent.exchange
        if exchange.status is None:
            message = f"no answer: {exchange.transport_error}"
            return [Problem(TRANSPORT, "server_errors", f"{label}|{TRANSPORT}|{_generic(message)}", message,
                            Verdict.FAIL)]
        problems = []
        for failure in failures_of(case.validate_response, sent.response, checks=self.checks):
            check = _check_name(failure)
            key = f"{type(failure).__name__}|{getattr(failure, '_unique_key', '')}"
            title = getattr(failure, "title", "") or check
            detail = _first_line(failure)
            if check == "negative_data_rejection":
                # one finding per operation: which part of the request was invalid varies from case to case
                # (kept as the finding's variants); the shrinker finds the smallest invalid request accepted
                key = type(failure).__name__
                detail = f"{_component(failure) or 'an invalid request'} was answered {exchange.status}"
            elif check == "not_a_server_error":
                detail = f"answered {exchange.status}: {' '.join(exchange.excerpt(400).split())[:160]}"
            elif hasattr(failure, "instance_path"):  # a schema error: where in the answer, and which keyword
                location = "".join("[N]" if isinstance(p, int) else f".{p}" for p in failure.instance_path)
                key += f"|{location}|{failure.schema_path[-1] if failure.schema_path else ''}"
                detail = f"{where(failure.instance_path)}: {(failure.validation_message or '').splitlines()[0]}"
            message = f"{title}: {detail}" if detail and detail != title else title
            problems.append(self._problem(check, label, key, message, exchange.status, mode))
        problems += self._suite(sent)
        return problems

    def _problem(self, check: str, label: str, key: str, message: str, status: int | None, mode: str) -> Problem:
        category = category_of(check, status, mode)
        verdict = Verdict.IGNORED if category == "accepted_invalid" else Verdict.FAIL
        return Problem(check, category, f"{label}|{check}|{key}", message[:500], verdict)

    def _suite(self, sent: Sent) -> list[Problem]:
        """The suite's checks on the answer (only for requests to endpoints of the API model)."""
        exchange = sent.exchange
        if exchange.route is None or exchange.api != self.api:
            return []  # e.g. an unexpected method schemathesis tries: no contract describes its answer
        names = list(self.suite_checks)
        if not exchange.ok and ENVELOPE_CHECK in CHECKS and ENVELOPE_CHECK not in names:
            names.append(ENVELOPE_CHECK)
        ctx = CheckContext(api=self.api, exchanges={"main": exchange}, profile=self.profile,
                           deterministic=self.deterministic)
        out = []
        for name in names:
            try:
                found = run_check(name, ctx)
            except Exception as exc:  # noqa: BLE001  (a crashing check is the suite's problem: shown, not raised)
                out.append(Problem(name, "other", f"{sent.operation}|{name}|crash", f"the check crashed: {exc}",
                                   Verdict.ERROR))
                continue
            for failure in found:
                if failure.verdict is Verdict.PASS:
                    continue  # notes inform, they do not count
                problem = self._problem(name, sent.operation, _generic(failure.message), failure.message,
                                        exchange.status, sent.mode)
                if failure.verdict is not Verdict.FAIL and problem.category != "accepted_invalid":
                    problem = Problem(problem.check, problem.category, problem.signature, problem.message,
                                      failure.verdict)
                out.append(problem)
        return out
