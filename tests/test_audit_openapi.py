"""``--openapi``: an OpenAPI document read by schemathesis, and recorded answers validated with its ``validate_response``."""

from __future__ import annotations

import copy
import json
from collections import Counter

import jsonschema
import pytest

from conformance.checks import openapi
from conformance.audit.main import main
from support.cassettes import from_corpus_record, write_cassette
from conformance.transport.exchange import Exchange
from corpus import CORPUS_MISSING, SHARED, corpus_available, exchange_from_record, load_corpus

SPEC = SHARED / "spec" / "openai" / "openapi.yaml"
SPEC_MISSING = f"official OpenAPI document not found at {SPEC} (third-party data, not in the repository)"


# -- schemathesis' reading of OpenAPI schemas, through OpenApiSpec: minimal documents built here ---------------------

def document(schema, *, extra=None):
    """A document with one audited operation (GET /responses/{response_id}) answering component ``Thing``."""
    return {"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "paths": {"/responses/{response_id}": {"get": {
                "parameters": [{"name": "response_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Thing"}}}}}}}, **(extra or {})},
            "components": {"schemas": {"Thing": schema}}}


def findings(schema, body, **kwargs):
    answer = Exchange("GET", "https://x/v1/responses/resp_1", status=200,
                      headers={"content-type": "application/json"}, text=json.dumps(body))
    return openapi.OpenApiSpec(document(schema, **kwargs)).check(answer)


def valid(schema, instance) -> bool:
    return findings({"type": "object", "properties": {"v": schema}}, {"v": instance}) == []


def test_nullable_with_a_type_accepts_null():
    schema = {"type": "string", "nullable": True}
    assert valid(schema, None) and valid(schema, "x") and not valid(schema, 1)
    assert not jsonschema.Draft202012Validator(schema).is_valid(None)  # what an unprepared 3.0 keyword does
    (finding,) = findings({"type": "object", "properties": {"v": schema}}, {"v": 1})
    assert finding.message.endswith('body .v: 1 is not of type "string" or "null"')  # the union is narrowed


def test_nullable_enum_gets_null():
    schema = {"type": "string", "enum": ["a", "b"], "nullable": True}
    assert valid(schema, None) and valid(schema, "a") and not valid(schema, "c")


def test_nullable_without_type_is_wrapped():
    schema = {"allOf": [{"type": "object", "required": ["id"]}], "nullable": True}
    assert valid(schema, None) and valid(schema, {"id": 1}) and not valid(schema, {})


def test_vendor_keywords_formats_and_descriptions_are_ignored_but_property_names_kept():
    schema = {"type": "object", "x-custom": {"type": "string"}, "description": "d",
              "properties": {"description": {"type": "string", "description": "a property named description"},
                             "created_at": {"type": "number", "format": "unixtime"},
                             "url": {"type": "string", "format": "uri"}},
              "required": ["description"]}
    assert findings(schema, {"description": "x", "created_at": 1700000000, "url": "not a uri"}) == []
    (finding,) = findings(schema, {"created_at": 1})
    assert finding.missing.fields == ("description",) and finding.missing.only


def test_openapi_30_boolean_exclusive_bounds():
    schema = {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert valid(schema, 0.5) and not valid(schema, 0)


def test_only_audited_endpoints_are_judged():
    extra = {"/models": {"get": {"responses": {"200": {"content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Thing"}}}}}}}}
    spec = openapi.OpenApiSpec(document({"type": "object", "properties": {"usage": {"type": "object",
                                                                                   "nullable": True}}},
                                        extra=extra))
    assert spec.answers == {("GET", "responses/{id}"): {"200": {"application/json": "Thing"}}}
    answer = Exchange("GET", "https://x/v1/responses/resp_1", status=200, headers={"content-type": "application/json"},
                      text='{"usage": 3}')
    (finding,) = spec.check(answer)
    assert finding.check == "openapi" and ".usage" in finding.message
    assert spec.check(Exchange("GET", "https://x/v1/responses/resp_1", status=200,
                               headers={"content-type": "application/json"}, text='{"usage": null}')) == []
    models = Exchange("GET", "https://x/v1/models", status=200, headers={"content-type": "application/json"},
                      text='{"usage": 3}')
    assert spec.check(models) == []


def test_a_document_without_endpoints_in_scope_is_refused():
    with pytest.raises(openapi.OpenApiError):
        openapi.OpenApiSpec({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}})
    with pytest.raises(openapi.OpenApiError):
        openapi.OpenApiSpec({"swagger": "2.0", "paths": {}})


# -- the official document against real traffic ----------------------------------------------------------------

needs_spec = pytest.mark.skipif(not SPEC.is_file(), reason=SPEC_MISSING)
needs_corpus = pytest.mark.skipif(not corpus_available(), reason=CORPUS_MISSING)


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    if not SPEC.is_file():
        pytest.skip(SPEC_MISSING)
    with pytest.MonkeyPatch.context() as patch:
        cache = tmp_path_factory.mktemp("cache")
        patch.setenv("XDG_CACHE_HOME", str(cache))
        loaded = openapi.OpenApiSpec.load(SPEC)
        cached = list((cache / "conformance").glob("openapi-*.json"))
        assert len(cached) == 1  # parsed once, keyed by the document's sha256
        assert openapi.read_document(SPEC) == json.loads(cached[0].read_text())
    return loaded


@needs_spec
@needs_corpus
def test_genuine_traffic_against_the_official_document(spec, capsys):
    """Reported, not required to pass: the official document disagrees with real traffic in known ways
    (api-differences: required fields that OpenAI does not always send, nulls the document does not allow)."""
    judged, failing, where = 0, 0, Counter()
    for record in load_corpus()[::3]:  # a third of the corpus keeps this test fast
        exchange = exchange_from_record(record)
        if (exchange.method, exchange.endpoint) not in {("POST", "chat/completions"), ("POST", "responses"),
                                                        ("GET", "responses/{id}"), ("DELETE", "chat/completions/{id}")}:
            continue
        judged += 1
        findings = spec.check(exchange)
        failing += bool(findings)
        for finding in findings:
            where.update(line.split(": ", 1)[0] for line in finding.evidence["errors"])
    with capsys.disabled():
        print(f"\n[audit --openapi] {failing}/{judged} genuine interactions disagree with the official document; "
              f"most common places: {where.most_common(6)}")
    assert judged > 300


@needs_spec
@needs_corpus
def test_nulls_the_document_marks_nullable_are_accepted(spec):
    """The chat chunk's ``usage`` is ``nullable: true`` (OpenAPI 3.0 style): every genuine chunk has ``usage: null``."""
    stream = next(r for r in load_corpus(api="chat", stream=True)
                  if r["status"] == 200 and "usage" in r["response_body"])
    findings = spec.check(exchange_from_record(stream))
    assert not any(".usage:" in line for f in findings for line in f.evidence["errors"])


@needs_spec
@needs_corpus
def test_genuine_errors_and_deletions_match_the_document(spec):
    records = [r for r in load_corpus() if r["status"] >= 400 or r["method"] == "DELETE" and r["api"] == "chat"]
    assert records
    assert [r for r in records if spec.check(exchange_from_record(r))] == []


@needs_spec
@needs_corpus
def test_mutants_fail_openapi_through_the_command(spec, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # keep the prepared document out of ~/.cache
    chat = next(r for r in load_corpus(api="chat", stream=False) if r["status"] == 200 and r["method"] == "DELETE")
    wrong_type = copy.deepcopy(chat)
    wrong_type["response_body"]["deleted"] = "yes"
    stream = next(r for r in load_corpus(api="responses", stream=True)
                  if r["status"] == 200 and "response.output_text.delta" in r["response_body"])
    events = [json.loads(line[6:]) for line in stream["response_body"].splitlines() if line.startswith("data: {")]
    for event in events:
        if event["type"] == "response.output_text.delta":
            event["delta"] = 42  # a number where the document says string
    bad_stream = copy.deepcopy(stream)
    bad_stream["response_body"] = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
    write_cassette(tmp_path / "c" / "m.yaml", [from_corpus_record(chat), from_corpus_record(wrong_type),
                                               from_corpus_record(bad_stream)])
    out = tmp_path / "r.json"
    assert main([str(tmp_path / "c"), "--openapi", str(SPEC), "--json", str(out)]) == 1
    entries = json.loads(out.read_text())["interactions"]
    openapi_messages = [[f["message"] for f in e["failures"] if f["check"] == "openapi"] for e in entries]
    assert openapi_messages[0] == []
    assert any(".deleted" in m for m in openapi_messages[1])
    assert len(openapi_messages[2]) == 1
    (finding,) = spec.check(exchange_from_record(bad_stream))  # one event type per line, repeats counted
    # (jsonschema-rs words it with double quotes; the python-jsonschema bridge this replaced said 'string')
    deltas = sum(1 for line in bad_stream["response_body"].splitlines() if line == "event: response.output_text.delta")
    assert f'response.output_text.delta .delta: 42 is not of type "string" ({deltas} events)' in finding.evidence["errors"]
