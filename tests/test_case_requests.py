"""Our own request bodies are valid: every committed case body against the official OpenAPI document.

Runs when ../shared/spec is present (third-party data, never committed), and skips with a reason
otherwise. Negative cases declare where they break the schema on purpose (``breaks:``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

import pytest

from conformance.api.endpoints import Endpoint
from conformance.cases.loading import builtin_suites, load_suites
from conformance.cases.model import Case, Step
from conformance.checks import CHECKS
from conformance.requests.validation import body_problems, check_cases, fill

SPEC = Path(__file__).resolve().parents[2] / "shared" / "spec" / "openai" / "openapi.yaml"


def any_of(node: Any) -> Any:
    """The document with every ``oneOf`` read as ``anyOf``.

    The spec's unions overlap (``InputItem``: an easy input message and an input message both match a
    message whose content is a list), so ``oneOf`` rejects requests the live API accepts; Prism, which
    validates with it, answers them 422. Matching at least one documented shape is what a valid request
    needs.
    """
    if isinstance(node, dict):
        return {("anyOf" if k == "oneOf" else k): any_of(v) for k, v in node.items()}
    if isinstance(node, list):
        return [any_of(v) for v in node]
    return node


@lru_cache(maxsize=1)
def official() -> Any:
    schemathesis = pytest.importorskip("schemathesis")
    import yaml

    document = yaml.load(SPEC.read_text(), Loader=yaml.CSafeLoader)
    return schemathesis.openapi.from_dict(any_of(document))


def spec_path(route: Endpoint) -> str:
    """The spec's path template for one of our endpoints (its parameters have their own names)."""
    names = {"responses": "response_id", "chat": "completion_id", "conversations": "conversation_id",
             "vector_stores": "vector_store_id", "files": "file_id"}
    return "/" + route.template.replace("{id}", "{" + names.get(route.api, "id") + "}")


def validate_official(route: Endpoint, body: Any) -> Iterable[tuple[str, str]]:
    operation = official()[spec_path(route)][route.method]
    if not operation.body:
        return []
    validator = operation.body[0].get_validator()
    found = []
    for error in validator.iter_errors(body):
        path = [str(p) for p in error.instance_path]
        if type(error.kind).__name__ == "Required":
            path.append(str(error.kind.property))  # a missing field is located where it should be
        found.append(("/" + "/".join(path), error.message[:200]))
    return found


def cases() -> list[Case]:
    found, errors = load_suites(builtin_suites(), CHECKS)
    assert not errors
    return found


@pytest.mark.skipif(not SPEC.exists(), reason="../shared/spec/openai/openapi.yaml is absent (third-party, not committed)")
@pytest.mark.parametrize("case", cases(), ids=lambda c: f"{c.capability}/{c.id}")
def test_every_case_body_is_valid_under_the_official_spec(case: Case):
    problems = body_problems(case, validate_official, strict=False)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.skipif(not SPEC.exists(), reason="../shared/spec/openai/openapi.yaml is absent (third-party, not committed)")
def test_the_official_check_fails_on_a_body_below_the_minimum():
    # the bug the first live runs found: max_output_tokens 8, below the spec's minimum of 16
    case = next(c for c in cases() if c.id == "unknown-model")
    step = case.steps["responses"][0]
    broken = Case(case.capability, case.id, case.description, case.claim,
                  {"responses": [Step(**{**step.__dict__, "body": dict(step.body, max_output_tokens=8)})]},
                  {"responses": []})
    [problem] = body_problems(broken, validate_official, strict=False)
    assert problem.pointer == "/max_output_tokens"
    undeclared = Case(case.capability, case.id, case.description, case.claim,
                      {"responses": [Step(**{**step.__dict__, "body": dict(step.body, temperature="hot")})]},
                      {"responses": []})
    assert [p.pointer for p in body_problems(undeclared, validate_official, strict=False)] == ["/temperature"]


def test_placeholders_are_filled_or_set_aside():
    unknown: list[str] = []
    body = fill({"model": "${model.vision}", "previous_response_id": "${first.id}",
                 "input": [{"role": "user", "content": "x"}, "${call.output[type=function_call]}"]}, "", unknown)
    assert body["model"] == "gpt-4o-mini"
    assert unknown == ["/previous_response_id", "/input/1"]


# -- our own request contracts (always, when a case file loads) ---------------------------------------------------

def with_body(case: Case, api: str, breaks: list[str] | None = None, **changes: Any) -> Case:
    step = case.steps[api][0]
    body = {k: v for k, v in {**step.body, **changes}.items() if v is not None}
    new = Step(**{**step.__dict__, "body": body, "breaks": step.breaks if breaks is None else breaks})
    return Case(case.capability, case.id, case.description, case.claim, {api: [new]}, {api: []}, source=case.source)


def test_every_case_body_holds_under_our_own_request_contracts():
    good, errors = check_cases(cases())
    assert not errors and len(good) == len(cases())


def test_a_body_below_a_minimum_is_a_load_error_at_the_case_line():
    case = next(c for c in cases() if c.id == "unknown-model")
    _, [error] = check_cases([with_body(case, "responses", max_output_tokens=8)])
    assert error.path.endswith("errors.yaml") and error.line and "/max_output_tokens" in error.reason


def test_a_parameter_of_the_other_api_must_be_declared():
    case = next(c for c in cases() if c.id == "unknown-model")
    _, [error] = check_cases([with_body(case, "chat", max_output_tokens=16)])
    assert "/max_output_tokens" in error.reason and "other API" in error.reason
    good, errors = check_cases([with_body(case, "chat", ["/max_output_tokens"], max_output_tokens=16)])
    assert good and not errors


def test_a_declared_break_that_is_not_there_is_a_load_error():
    case = next(c for c in cases() if c.id == "wrong-type")
    _, [error] = check_cases([with_body(case, "responses", temperature=0.5)])
    assert "declared in `breaks`" in error.reason and "/temperature" in error.reason
