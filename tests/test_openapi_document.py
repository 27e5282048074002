"""Our OpenAPI document: generated from the API model, shipped current, valid OpenAPI 3.1, realistic requests."""

from __future__ import annotations

import copy
import json
import re

import pytest

from conformance.api import openapi
from conformance.api.endpoints import ENDPOINTS
from conformance.api.vocabulary import PROFILES
from conformance.checks.openapi import load_schema, operations, prepare, read_document
from corpus import SHARED

OFFICIAL = SHARED / "spec" / "openai" / "openapi.yaml"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_shipped_document_is_current(profile):
    shipped = json.loads(openapi.shipped_path(profile).read_text())
    assert shipped == openapi.build_document(profile), "regenerate it: python -m conformance.api.openapi"


@pytest.mark.parametrize("profile", PROFILES)
def test_the_document_is_valid_openapi_31_and_loads_in_schemathesis(profile):
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    document = openapi.build_document(profile)
    assert document["openapi"].startswith("3.1")
    assert [error.message for error in OPENAPI_31_VALIDATOR.iter_errors(document)] == []
    schema = load_schema(prepare(document))
    assert [op.ok().label for op in schema.get_all_operations()]  # every operation resolves (no InvalidSchema)


def test_the_validity_check_can_fail():
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    broken = openapi.build_document("compat")
    broken["paths"]["/responses"]["post"]["responses"] = "none"
    assert list(OPENAPI_31_VALIDATOR.iter_errors(broken))


def test_paths_and_methods_come_from_the_api_model():
    document = openapi.build_document("openai")
    found = {(method.upper(), path.strip("/")) for path, item in document["paths"].items() for method in item}
    wanted = {(e.method, e.template) for e in ENDPOINTS
              if e.api in ("chat", "responses") and e.role in openapi.SCOPE_ROLES[e.api]}
    assert found == wanted
    # create, retrieve, delete, input items of Responses; the whole of stored chat completions
    assert ("GET", "responses/{id}/input_items") in found and ("POST", "chat/completions/{id}") in found


def test_answers_come_from_the_profiles_contracts():
    document = openapi.build_document("openai")
    schemas = document["components"]["schemas"]
    answer = document["paths"]["/responses/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"] == {"$ref": "#/components/schemas/response"}
    assert "billing" in schemas["response.create"].get("required", [])  # the openai profile's own rule
    assert "billing" not in openapi.build_document("compat")["components"]["schemas"]["response.create"].get(
        "required", [])
    error = document["paths"]["/chat/completions"]["post"]["responses"]["4XX"]["content"]["application/json"]
    assert error["schema"] == {"$ref": "#/components/schemas/error"}
    # refs between contracts became refs between components, and every one resolves
    assert not re.search(r'"\$ref": "[^#]', json.dumps(document))
    for name in set(openapi._refs_in(document)):
        assert name in schemas, name


@pytest.mark.skipif(not OFFICIAL.is_file(), reason="official OpenAPI document not found (third-party data)")
def test_request_ranges_are_the_official_documents():
    """Every minimum/maximum our request schemas put on a field is the one the official document puts on it
    (``max_completion_tokens`` >= 1 and list ``limit`` 1..100 come from the API reference's prose instead)."""
    official = read_document(OFFICIAL)
    text = json.dumps(official)
    ours = openapi.build_document("openai")["components"]["schemas"]
    prose = {("request.chat.create", "max_completion_tokens")}
    checked = 0
    for name in ("request.chat.create", "request.responses.create"):
        for field, schema in ours[name]["properties"].items():
            for bound in ("minimum", "maximum"):
                if bound not in schema or (name, field) in prose:
                    continue
                fragment = f'"{field}": '
                assert fragment in text, field
                # the official document has the same bound for this field somewhere in its request schemas
                assert f'"{bound}": {json.dumps(schema[bound])}' in text or \
                    f'"{bound}": {float(schema[bound])}' in text, (name, field, bound)
                checked += 1
    assert checked >= 12
    assert ours["request.responses.create"]["properties"]["max_output_tokens"]["minimum"] == 16


def test_the_request_digest_ignores_answers_but_not_requests():
    document = openapi.build_document("compat")
    answers_changed = copy.deepcopy(document)
    answers_changed["components"]["schemas"]["chat.completion"]["required"] = ["id"]
    requests_changed = copy.deepcopy(document)
    requests_changed["components"]["schemas"]["request.chat.create"]["properties"]["temperature"]["maximum"] = 3
    assert openapi.request_digest(document) == openapi.request_digest(answers_changed)
    assert openapi.request_digest(document) != openapi.request_digest(requests_changed)


def test_model_pinning_and_omitted_fields():
    document = openapi.omit_fields(openapi.pin_model(openapi.build_document("compat"), "smollm2"), ("n",))
    chat = document["components"]["schemas"]["request.chat.create"]
    assert chat["properties"]["model"] == {"type": "string", "enum": ["smollm2"]} and "n" not in chat["properties"]
    assert openapi.build_document("compat")["components"]["schemas"]["request.chat.create"]["properties"]["n"]


@pytest.mark.skipif(not OFFICIAL.is_file(), reason="official OpenAPI document not found (third-party data)")
def test_the_official_document_can_stand_in_for_ours():
    document = prepare(read_document(OFFICIAL))
    found = operations(load_schema(document), document)
    assert {template for _, template in found} == {e.template for e in openapi.SCOPE}
    stream = document["paths"]["/responses"]["post"]["responses"]["200"]["content"]["text/event-stream"]
    assert stream[openapi.PAYLOAD_KEY] == "ResponseStreamEvent"
    assert "4XX" in document["paths"]["/responses"]["post"]["responses"]  # beside its documented 429
