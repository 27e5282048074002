"""No secret on disk: a recording against a local server that echoes every credential it is sent, planted in
every place a secret can hide (the key in the Authorization header, credential headers a case sends, a key in
the base URL's query, the organization and project in the environment, a server echoing them in headers and
bodies, an error message quoting the key as OpenAI's does, and an OpenAI-like key that is nobody's), leaves
none of them in cassettes, reports or the run's output. A password in a base URL is refused without being
shown. The final scans (a cassette before it is written, reports after) refuse a file that still holds one.

The secrets are generated per test run; nothing here is a real credential.
"""

from __future__ import annotations

import json
import os
import secrets as random_tokens
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance import redaction
from conformance.run import safety
from conformance.transport import vcr as cassettes
from support.server import answer, serve

KEY = "plantedkey" + random_tokens.token_hex(12)  # not OpenAI-like: found only because it is registered
ORG = "org-" + random_tokens.token_hex(12)
PROJECT = "proj_" + random_tokens.token_hex(12)
QUERY_SECRET = "querysecret" + random_tokens.token_hex(8)
NOBODYS_KEY = "sk-proj-" + random_tokens.token_hex(20)  # OpenAI-like: found by its pattern
PLANTED = (KEY, ORG, PROJECT, QUERY_SECRET, NOBODYS_KEY)
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "api-key", "x-api-key", "cookie", "set-cookie",
                      "openai-organization", "openai-project", "x-custom-token", "x-client-secret", "x-password")

SUITE = f"""\
capability: demo
title: Demo
cases:
  - id: echo
    description: The server echoes every credential it saw, in headers and in the body.
    claim:
      chat: {{status: supported, doc: "https://example.test/doc"}}
    expect: [text_nonempty]
    chat:
      steps:
        - name: main
          body: {{model: "${{model}}", messages: [{{role: user, content: hi}}]}}
          headers:
            x-api-key: "{KEY}"
            api-key: "{KEY}"
            proxy-authorization: "Basic {KEY}"
            cookie: "session={KEY}"
            openai-organization: "{ORG}"
            openai-project: "{PROJECT}"
            x-custom-token: "{KEY}"
            x-client-secret: "{KEY}"
            x-password: "{KEY}"
  - id: refused
    description: The server refuses the key and quotes it in its error message, as OpenAI does.
    claim:
      responses: {{status: supported, doc: "https://example.test/doc"}}
    expect: [text_nonempty]
    responses:
      request: {{body: {{model: "${{model}}", input: hi}}}}
"""


def echo(request) -> None:
    """A chat completion whose headers and text repeat what the request carried."""
    seen = " ".join(f"{k}={v}" for k, v in request.headers.items())
    body = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                         "message": {"role": "assistant", "content": f"you sent {seen} to {request.path}; "
                                                                     f"org {ORG} project {PROJECT} {NOBODYS_KEY}"}}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
    headers = {name: f"echo {KEY}" for name in CREDENTIAL_HEADERS}
    headers.update({"x-echo": request.headers.get("authorization", ""), "openai-organization": ORG,
                    "openai-project": PROJECT, "x-request-path": request.path, "x-other": NOBODYS_KEY})
    answer(200, body, headers=headers)(request)


def refuse(request) -> None:
    key = request.headers.get("authorization", "").removeprefix("Bearer ")
    answer(401, {"error": {"message": f"Incorrect API key provided: {key}. You can find your API key at "
                                      f"https://platform.openai.com/account/api-keys.",
                           "type": "invalid_request_error", "param": None, "code": "invalid_api_key"}})(request)


def _everything_written(root: Path, output: str) -> str:
    texts = [output]
    for path in root.rglob("*"):
        if path.is_file() and path.suffix in (".yaml", ".json", ".jsonl", ".md", ".html", ".txt"):
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "FAKE_KEY": KEY, "OPENAI_ORG_ID": ORG, "OPENAI_PROJECT_ID": PROJECT}
    return subprocess.run([sys.executable, "-m", "conformance", "run", "--targets", "targets.yaml", "--suites",
                           "suites", "--cassettes", "cassettes", "--reports", "reports", "--expectations",
                           "expectations", "-rA", *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)


def test_planted_secrets_reach_no_cassette_report_or_output(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "demo.yaml").write_text(SUITE)
    with serve({("POST", "/chat/completions"): echo, ("POST", "/responses"): refuse}) as (base_url, seen):
        (tmp_path / "targets.yaml").write_text(
            f"targets:\n  fake:\n    base_url: '{base_url}?api-key={QUERY_SECRET}&api-version=2025-01-01'\n"
            f"    api_key_env: FAKE_KEY\n    profile: compat\n    models: {{default: m}}\n")
        # no preflight: it would stop at the refused key before the cases run
        recorded = _run(tmp_path, "--target", "fake", "--record-mode", "once", "--no-preflight")
    output = recorded.stdout + recorded.stderr
    # the secrets were really sent: the key as a bearer token and in the headers the case names, the query kept
    chat = next(r for r in seen if r["path"].startswith("/v1/chat/completions"))
    sent = {name.lower(): value for name, value in chat["headers"].items()}
    assert sent["authorization"] == f"Bearer {KEY}" and sent["x-api-key"] == KEY
    assert f"api-key={QUERY_SECRET}" in chat["path"] and "api-version=2025-01-01" in chat["path"]
    cassette_files = sorted((tmp_path / "cassettes").rglob("*.yaml"))
    assert [p.name for p in cassette_files] == ["echo.chat.yaml", "refused.responses.yaml"], output[-3000:]
    assert (tmp_path / "reports" / "results.json").exists(), output[-3000:]
    everything = _everything_written(tmp_path / "cassettes", output) + _everything_written(tmp_path / "reports", "")
    for secret in PLANTED:
        assert secret not in everything, f"{secret[:12]}... reached a cassette, a report or the output"
    # what remains is still a recording: headers dropped by name, the rest kept, values replaced in place
    echo_cassette = yaml.safe_load(cassette_files[0].read_text())["interactions"][0]
    request_headers = {name.lower() for name in echo_cassette["request"]["headers"]}
    response_headers = {name.lower() for name in echo_cassette["response"]["headers"]}
    assert not request_headers & set(CREDENTIAL_HEADERS)
    assert not response_headers & set(CREDENTIAL_HEADERS)
    assert echo_cassette["request"]["uri"].endswith("/v1/chat/completions?api-version=2025-01-01")
    assert "x-echo" in response_headers and "x-other" in response_headers
    assert "project REDACTED sk-REDACTED" in echo_cassette["response"]["body"]["string"]
    results = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    assert {r["case"]: r["verdict"] for r in results} == {"echo": "pass", "refused": "error"}
    # and the recording replays (the scrubbed request still matches)
    replayed = _run(tmp_path, "--target", "fake")
    # 2: the refused cell is an ``error`` of the setup and the target has no expectations (README, "Reliability")
    assert replayed.returncode == 2, replayed.stdout[-3000:]
    replayed_results = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    assert {r["case"]: r["verdict"] for r in replayed_results} == {"echo": "pass", "refused": "error"}
    assert not any(s in replayed.stdout + replayed.stderr for s in PLANTED)


def test_a_password_in_the_base_url_is_refused_without_being_shown(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "demo.yaml").write_text(SUITE)
    password = "pw" + random_tokens.token_hex(10)
    (tmp_path / "targets.yaml").write_text(
        f"targets:\n  fake:\n    base_url: 'http://bob:{password}@127.0.0.1:9/v1'\n    profile: compat\n")
    found = _run(tmp_path, "--target", "fake", "--record-mode", "once")
    assert found.returncode == 2  # a usage error
    output = found.stdout + found.stderr
    assert "base_url holds a user name or password (http://***@127.0.0.1:9/v1)" in output
    assert password not in output and not (tmp_path / "cassettes").exists()


@pytest.fixture
def registered():
    redaction.forget_all()
    redaction.register(KEY, "the value of FAKE_KEY")
    yield
    redaction.forget_all()


def test_scrub_request_drops_credentials_from_headers_url_and_body(registered) -> None:
    from vcr.request import Request

    headers = {name: f"value {KEY}" for name in CREDENTIAL_HEADERS if name != "set-cookie"}
    headers.update({"Content-Type": "application/json", "X-Trace": f"trace {KEY}"})
    request = Request("POST", f"https://user:{KEY}@api.example.test/v1/responses?key={KEY}&api-version=1&limit=2",
                      json.dumps({"input": f"my key is {KEY} and {NOBODYS_KEY}"}), headers)
    scrubbed = cassettes.scrub_request(request)
    assert scrubbed.uri == "https://api.example.test/v1/responses?api-version=1&limit=2"
    assert {k.lower() for k in scrubbed.headers} == {"content-type", "x-trace"}
    assert scrubbed.headers["X-Trace"] == "trace REDACTED"
    assert json.loads(scrubbed.body) == {"input": "my key is REDACTED and sk-REDACTED"}


def test_scrub_response_drops_credential_headers_and_redacts_echoes(registered) -> None:
    response = {"status": {"code": 200, "message": "OK"},
                "headers": {**{name.title(): [f"echo {KEY}"] for name in CREDENTIAL_HEADERS},
                            "X-Echo": [f"Bearer {KEY}"], "Content-Type": ["application/json"]},
                "body": {"string": json.dumps({"echo": KEY, "org": ORG}).encode()}}
    scrubbed = cassettes.scrub_response(response)
    assert scrubbed["headers"] == {"X-Echo": ["Bearer REDACTED"], "Content-Type": ["application/json"]}
    assert json.loads(scrubbed["body"]["string"]) == {"echo": "REDACTED", "org": "org-REDACTED"}
    assert response["headers"]["X-Echo"] == [f"Bearer {KEY}"]  # a copy: the answer the client reads is intact


def test_a_cassette_still_holding_a_secret_is_not_written(tmp_path: Path, registered) -> None:
    from vcr.request import Request

    request = Request("POST", "http://127.0.0.1/v1/responses", b"{}", {})
    response = {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": f"echo {KEY}"}}
    path = tmp_path / "leak.yaml"
    with pytest.raises(cassettes.SecretInCassette, match="the value of FAKE_KEY"):
        cassettes.SafePersister.save_cassette(path, {"requests": [request], "responses": [response]},
                                              cassettes.ReadableYamlSerializer)
    assert not path.exists() and not list(tmp_path.iterdir())
    response["body"]["string"] = "clean"
    cassettes.SafePersister.save_cassette(path, {"requests": [request], "responses": [response]},
                                          cassettes.ReadableYamlSerializer)
    assert yaml.safe_load(path.read_text())["version"] == 1 and path.read_text().rstrip().endswith("version: 1")


def test_the_final_scan_deletes_a_report_that_holds_a_secret(tmp_path: Path, registered) -> None:
    leaky, clean = tmp_path / "matrix.md", tmp_path / "results.json"
    leaky.write_text(f"| case | {KEY} |")
    clean.write_text('{"results": []}')
    assert safety.refuse_secrets([leaky, clean]) == [f"{leaky} deleted: it held the value of FAKE_KEY"]
    assert not leaky.exists() and clean.exists()


def test_redaction_finds_openai_like_credentials_and_registered_values(registered) -> None:
    text = (f"a {NOBODYS_KEY} b sess-{'a' * 40} c {ORG} d {PROJECT} e {KEY} f "
            "task-manager-with-a-long-name sk-short org-chart")
    assert redaction.redact(text) == ("a sk-REDACTED b sess-REDACTED c org-REDACTED d proj_REDACTED e REDACTED f "
                                      "task-manager-with-a-long-name sk-short org-chart")
    assert redaction.find(redaction.redact(text)) == []
    assert "the value of FAKE_KEY" in redaction.find(text)
    redaction.register("short", "too short to be a key")  # a placeholder such as `none` would rewrite bodies
    assert redaction.redact("short") == "short"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["sk-", "sess-", "org-", "proj_", "a", "Z9", "_", "-", " ", "\n", "x" * 20,
                                 "sk-proj-", "é"]), max_size=30).map("".join))
def test_finding_credentials_by_their_prefixes_finds_what_the_pattern_finds(text):
    """``find`` tries KEY_PATTERN only where a prefix occurs (speed); it finds exactly what a full scan finds."""
    full_scan = sorted(m.span() for m in redaction.KEY_PATTERN.finditer(text))
    assert sorted(m.span() for m in redaction._credential_like(text)) == full_scan
    if not any(prefix in text for prefix in redaction.KEY_PREFIXES):  # what `redact` skips
        assert full_scan == []


_PIECES = ["sk-", "sess-", "org-", "proj_", "a", "Z9", "_", "-", " ", "\n", "\t", '"', "\\", "x" * 20, "é", "\u2028",
           "sk-proj-", 'odd"value\n' * 2]
_texts = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)
_documents = st.recursive(st.one_of(_texts, st.integers(), st.none(), st.booleans()),
                          lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                  st.dictionaries(_texts, inner, max_size=4)), max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(_documents)
def test_a_document_is_redacted_as_walking_it_redacts_it(document):
    """``redact_document_text`` (the audit report's: the JSON text is searched first) gives what ``redact_value``
    gives on documents with credential-like strings after escaped characters and registered values holding quotes
    and newlines; the text it hands back, when it does, is the document's own JSON text (handing back the document
    itself when there is nothing to redact: the test below)."""
    redaction.forget_all()
    redaction.register('odd"value\n' * 2, "a registered value JSON escapes")
    try:
        expected = redaction.redact_value(document)
        redacted, text = redaction.redact_document_text(document)
        assert redacted == expected
        assert text is None or text == json.dumps(expected, ensure_ascii=False)
    finally:
        redaction.forget_all()


def test_a_document_with_nothing_to_redact_is_not_copied(registered) -> None:
    clean = {"summary": {"fail": 1}, "interactions": [{"message": "task-manager sk-short", "n": [1, 2.5, None]}]}
    redacted, text = redaction.redact_document_text(clean)
    assert redacted is clean and text == json.dumps(clean, ensure_ascii=False)
    # a key right after a newline: escaped as ``\n`` in the JSON text, the boundary before it is a letter there
    assert redaction.redact_document_text({"m": [f"line\n{NOBODYS_KEY}"]}) == ({"m": ["line\nsk-REDACTED"]}, None)
    assert redaction.redact_document_text({f"key {KEY}": True}) == ({"key REDACTED": True}, None)
    # not JSON: walked as before, no text
    assert redaction.redact_document_text({"odd": {1, 2}}) == ({"odd": {1, 2}}, None)


@settings(max_examples=300, deadline=None)
@given(_texts)
def test_a_key_candidate_is_found_by_its_prefixes_as_by_the_pattern(text):
    found = [m.span() for m in redaction._credential_like(text, redaction._KEY_CANDIDATE)]
    assert bool(found) == bool(redaction._KEY_CANDIDATE.search(text))
