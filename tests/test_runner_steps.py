"""Multi-step cases: polling budgets, cleanup steps, file uploads and the run id (runner, case format, transport),
driven by an in-process transport (no server, no cassette)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

from conformance.cases.loading import load_file
from conformance.cases.targets import adhoc_target
from conformance.checks import CHECKS
from conformance.checks.findings import Verdict
from conformance.requests.multipart import Upload
from conformance.requests.placeholders import RUN_ID, new_run_id
from conformance.run.runner import run_case, until_met
from conformance.transport import vcr
from conformance.transport.http import sender

TARGET = adhoc_target("http://127.0.0.1:9/v1", model="m")
RUN = "20261130t120000-a1b2c3"
CASES = """\
capability: demo
title: Demo
cases:
  - id: indexing
    description: Upload, wait for indexing, ask, clean up.
    claim: {responses: {status: supported, doc: "https://example.test/d"}}
    responses:
      steps:
        - name: upload
          path: /files
          upload: {asset: lighthouse-notes.txt, filename: "conformance-${run.id}-notes.txt", fields: {purpose: assistants}}
        - name: store
          path: /vector_stores
          body: {name: "conformance-${run.id}"}
        - name: indexed
          method: GET
          path: /vector_stores/${store.id}/files/${upload.id}
          poll: {until: {status: completed}, timeout: 30, tries: 3}
        - name: ask
          body: {model: "${model}", input: "code word?", tools: [{type: file_search, vector_store_ids: ["${store.id}"]}]}
        - name: drop_store
          method: DELETE
          path: /vector_stores/${store.id}
          cleanup: true
        - name: drop_file
          method: DELETE
          path: /files/${upload.id}
          cleanup: true
      expect:
        - text_nonempty
"""


def response(text: str) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "m",
            "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": text, "annotations": []}]}],
            "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}


class Server:
    """Answers by (method, path suffix); a list of answers is used up in order."""

    def __init__(self, routes: dict[tuple[str, str], Any]):
        self.routes = {key: list(value) if isinstance(value, list) else [value] for key, value in routes.items()}
        self.sent: list[httpx2.Request] = []

    def client(self) -> httpx2.Client:
        def handle(request: httpx2.Request) -> httpx2.Response:
            self.sent.append(request)
            for (method, suffix), answers in self.routes.items():
                if request.method == method and request.url.path.endswith(suffix):
                    status, body = answers.pop(0) if len(answers) > 1 else answers[0]
                    return httpx2.Response(status, json=body)
            return httpx2.Response(404, json={"detail": "Not Found"})
        return httpx2.Client(transport=httpx2.MockTransport(handle))

    def calls(self) -> list[str]:
        return [f"{r.method} {r.url.path.removeprefix('/v1')}" for r in self.sent]


def demo(tmp_path: Path, text: str = CASES) -> dict:
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    cases, errors = load_file(path, CHECKS)
    assert not errors, errors
    return {case.id: case for case in cases}


def happy_routes(indexing: list) -> dict:
    return {("POST", "/files"): (200, {"id": "file-1", "object": "file"}),
            ("POST", "/vector_stores"): (200, {"id": "vs_1", "object": "vector_store"}),
            ("GET", "/vector_stores/vs_1/files/file-1"): indexing,
            ("POST", "/responses"): (200, response("HELIOTROPE-58")),
            ("DELETE", "/vector_stores/vs_1"): (200, {"id": "vs_1", "deleted": True}),
            ("DELETE", "/files/file-1"): (200, {"id": "file-1", "deleted": True})}


def test_polls_until_the_answer_holds_the_values_then_cleans_up(tmp_path: Path):
    server = Server(happy_routes([(200, {"status": "in_progress"}), (200, {"status": "completed"})]))
    slept: list[float] = []
    result = run_case(demo(tmp_path)["indexing"], "responses", TARGET, sender(server.client()), sleep=slept.append,
                      run_id=RUN)
    assert result.verdict is Verdict.PASS, result.failures
    assert server.calls() == ["POST /files", "POST /vector_stores", "GET /vector_stores/vs_1/files/file-1",
                              "GET /vector_stores/vs_1/files/file-1", "POST /responses",
                              "DELETE /vector_stores/vs_1", "DELETE /files/file-1"]
    assert slept == [0.5]
    assert [s["name"] for s in result.steps][-2:] == ["drop_store", "drop_file"]


def test_an_unmet_wait_is_a_note_within_its_budget_and_the_checks_judge_what_follows(tmp_path: Path):
    server = Server(happy_routes([(200, {"status": "in_progress"})]))
    result = run_case(demo(tmp_path)["indexing"], "responses", TARGET, sender(server.client()), sleep=lambda s: None,
                      run_id=RUN)
    assert server.calls().count("GET /vector_stores/vs_1/files/file-1") == 3  # tries: 3
    (note,) = [f for f in result.failures if f.check == "poll"]
    assert note.verdict is Verdict.PASS and "not reached after 3 tries" in note.message
    assert result.verdict is Verdict.PASS  # the answer still came from the file


def test_cleanup_runs_after_a_failure_and_only_for_what_was_created(tmp_path: Path):
    routes = happy_routes([(200, {"status": "completed"})])
    routes[("POST", "/vector_stores")] = (400, {"error": {"message": "no", "type": "invalid_request_error",
                                                          "param": None, "code": None}})
    routes[("DELETE", "/files/file-1")] = (404, {"detail": "Not Found"})
    server = Server(routes)
    result = run_case(demo(tmp_path)["indexing"], "responses", TARGET, sender(server.client()), run_id=RUN)
    # the store was never created: its cleanup is skipped; the file's runs, and its 404 is a note, not a verdict
    assert server.calls() == ["POST /files", "POST /vector_stores", "DELETE /files/file-1"]
    assert result.verdict is Verdict.UNSUPPORTED and result.failures[0].step == "store"
    (note,) = [f for f in result.failures if f.check == "cleanup"]
    assert note.verdict is Verdict.PASS and note.step == "drop_file"


def test_an_upload_is_multipart_named_by_the_run_and_byte_identical_each_time(tmp_path: Path):
    bodies = []
    for _ in range(2):
        server = Server(happy_routes([(200, {"status": "completed"})]))
        run_case(demo(tmp_path)["indexing"], "responses", TARGET, sender(server.client()), run_id=RUN)
        upload = server.sent[0]
        assert upload.headers["content-type"].startswith("multipart/form-data; boundary=conformance-")
        bodies.append(upload.content)
        assert json.loads(server.sent[1].content) == {"name": f"conformance-{RUN}"}
    assert bodies[0] == bodies[1]
    text = bodies[0].decode()
    assert f'filename="conformance-{RUN}-notes.txt"' in text and "HELIOTROPE-58" in text
    assert 'name="purpose"\r\n\r\nassistants' in text


def test_without_a_run_id_a_case_that_needs_one_is_an_error_of_the_setup(tmp_path: Path):
    server = Server(happy_routes([(200, {"status": "completed"})]))
    result = run_case(demo(tmp_path)["indexing"], "responses", TARGET, sender(server.client()))
    assert result.verdict is Verdict.ERROR and server.sent == []


def test_run_ids_and_recorded_run_ids(tmp_path: Path):
    assert RUN_ID.fullmatch(new_run_id())
    cassette = tmp_path / "c.yaml"
    cassette.write_text(f"interactions:\n- request:\n    body: '{{\"name\": \"conformance-{RUN}\"}}'\n")
    assert vcr.recorded_run_id(cassette) == RUN
    cassette.write_text("interactions: []\n")
    assert vcr.recorded_run_id(cassette) is None and vcr.recorded_run_id(tmp_path / "absent.yaml") is None


def test_multipart_bodies_match_whatever_their_boundary():
    body, content_type = Upload("a.txt", b"x\r\ny", "text/plain", fields={"purpose": "assistants"}).encode()
    boundary = content_type.split("boundary=")[1]
    other = body.decode().replace(boundary, "another-client-boundary")
    assert vcr.multipart_parts(body.decode()) == vcr.multipart_parts(other) is not None
    assert vcr.multipart_parts(body.decode().replace("x\r\ny", "z")) != vcr.multipart_parts(body.decode())
    assert vcr.multipart_parts('{"a": 1}') is None


def test_until_paths():
    body = {"status": "completed", "data": [{"id": "a"}, {"id": "b"}]}
    assert until_met(body, {"status": "completed", "data.*.id": "b", "data.0.id": "a"})
    assert not until_met(body, {"data.*.id": "c"}) and not until_met(None, {"status": "completed"})


@pytest.mark.parametrize("step, reason", [
    ('{name: upload, path: /files, upload: {asset: no-such-file.txt}}', "no such file"),
    ('{name: upload, path: /files, upload: {asset: lighthouse-notes.txt}, body: {a: 1}}', "should not be valid"),
    ('{name: drop, method: DELETE, path: /files/x, cleanup: true}\n        - {name: late, path: /files/y}',
     "cleanup steps come last"),
    ('{name: wait, method: GET, path: /files/x, poll: {until: {status: done}, tries: 0}}', "less than the minimum"),
])
def test_bad_multi_step_fields_are_load_errors(tmp_path: Path, step: str, reason: str):
    text = f"""\
capability: demo
title: Demo
cases:
  - id: bad
    description: Bad.
    claim: {{responses: {{status: supported, doc: "https://example.test/d"}}}}
    responses:
      steps:
        - {step}
"""
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    cases, errors = load_file(path, CHECKS)
    assert not cases and any(reason in e.reason for e in errors), errors
