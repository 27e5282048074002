"""The contract files themselves: valid Draft 2020-12 schemas, resolvable refs, and fit to real traffic."""

from __future__ import annotations

import json
from functools import lru_cache

import jsonschema
import pytest

from conformance.api import contracts
from conformance.api.endpoints import ENDPOINTS
from conformance.api.history import first_seen_any_api
from conformance.api.validation import validate_object

LATER_FIELDS = first_seen_any_api()
CONTRACTS_BY_ENDPOINT = {(e.api, e.template, e.method): e.contract for e in ENDPOINTS if e.contract}
from corpus import CORPUS_MISSING, corpus_available, exchange_from_record, load_corpus

PROFILES = ("openai", "compat")
FILES = sorted(path for profile in PROFILES for path in (contracts.contracts_root() / profile).glob("*.json"))


def _refs(node):
    """Every $ref value in a schema document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_contract_is_a_valid_2020_12_schema(path):
    schema = json.loads(path.read_text())
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    assert schema.get("title"), "every contract says what it is"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_ref_resolves(path):
    for ref in _refs(json.loads(path.read_text())):
        file, _, pointer = ref.partition("#")
        target = path.parent / file if file else path
        assert target.exists(), f"{ref} -> missing file {target.name}"
        node = json.loads(target.read_text())
        for part in filter(None, pointer.split("/")):
            assert part in node, f"{ref}: no {part!r}"
            node = node[part]


def test_both_profiles_define_the_same_contracts():
    names = {p: {f.stem for f in (contracts.contracts_root() / p).glob("*.json")} for p in PROFILES}
    assert names["openai"] == names["compat"]
    assert set(CONTRACTS_BY_ENDPOINT.values()) <= names["openai"]


def test_openai_is_stricter_than_compat_on_a_minimal_body():
    # a body with only what a client needs: compat accepts it, openai names what OpenAI always sends besides
    minimal = {"id": "resp_1", "object": "response", "status": "completed", "output": []}
    assert validate_object("compat", "response", minimal) == []
    missing = {p["missing"] for p in validate_object("openai", "response", minimal)}
    assert {"created_at", "model", "usage", "tools", "completed_at"} <= missing


@pytest.mark.parametrize("profile", PROFILES)
def test_error_contract(profile):
    good = {"error": {"message": "m", "type": "invalid_request_error", "param": None, "code": None}}
    assert validate_object(profile, "error", good) == []
    llama = {"error": {"code": 400, "message": "m", "type": "invalid_request_error"}}  # int code, no param
    problems = validate_object(profile, "error", llama)
    assert {p.get("missing") for p in problems} >= {"param"}
    assert any(p["path"] == "/error/code" for p in problems)
    assert validate_object(profile, "error", {"detail": "Not Found"})[0]["missing"] == "error"


# --- fit to real traffic -------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _bodies() -> tuple:
    """(contract name, body, record) for every official, genuine 2xx JSON body we have a contract for."""
    out = []
    for record in load_corpus():
        exchange = exchange_from_record(record)
        name = CONTRACTS_BY_ENDPOINT.get((exchange.api, exchange.endpoint, exchange.method))
        if name and exchange.ok and not exchange.is_sse and isinstance(exchange.json, dict):
            out.append((name, exchange.json, record))
    return tuple(out)


@pytest.fixture(scope="module")
def bodies():
    if not corpus_available():
        pytest.skip(CORPUS_MISSING)
    return _bodies()


@pytest.mark.corpus
def test_compat_accepts_every_real_body(bodies):
    assert len(bodies) > 1500
    rejected = [(name, r["cassette_path"], validate_object("compat", name, body)[:2])
                for name, body, r in bodies if validate_object("compat", name, body)]
    assert rejected == []


@pytest.mark.corpus
def test_openai_flags_real_bodies_only_for_fields_added_later(bodies):
    # Old recordings lack fields OpenAI added since; that must be the only thing the openai contracts find.
    findings = 0
    for name, body, record in bodies:
        problems = validate_object("openai", name, body)
        findings += bool(problems)
        wrong = [p for p in problems if "missing" not in p or p["missing"] not in LATER_FIELDS]
        assert wrong == [], (record["cassette_path"], wrong[:3])
    assert findings > 0  # the corpus does hold old recordings, so the contracts do require the later fields


@pytest.mark.corpus
def test_openai_accepts_the_latest_recordings(bodies):
    # Creates that already carry cache_write_tokens (since 2026-07) have every field OpenAI sends today.
    latest = [body for name, body, _ in bodies if name == "response.create"
              and "cache_write_tokens" in ((body.get("usage") or {}).get("input_tokens_details") or {})]
    assert latest, "the corpus has recent Responses creates"
    assert [validate_object("openai", "response.create", body) for body in latest] == [[]] * len(latest)
