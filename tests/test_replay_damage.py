"""Replay of damaged inputs: every one is a verdict of its own cell, never a crash, a traceback or a silent pass.

Three cases are recorded once from a scripted loopback server (nothing here is committed), then copies of
the recording are damaged in code and replayed: a cassette cut short (in the middle of a body), one made of
binary garbage, one nested 100,000 deep, one deleted; and case files that are binary or nested 100,000
deep. The damage is generated here, labelled as such; no real recording is edited.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.server import answer, serve
from support.suites import chat_case, suite

SUITE = suite(chat_case("hello"), chat_case("again", "again", "Another prompt gets an answer."),
              chat_case("third", "third", "A third prompt gets an answer."))
CHAT = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "Hello there, a long enough answer."}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}


def run(folder: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance", "run", "--targets", "targets.yaml", "--suites",
                           "suites", "--cassettes", "cassettes", "--reports", "reports", "--expectations",
                           "expectations", "--target", "fake", *args], cwd=folder, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the suite, a target, its three cassettes and its expectations (all pass)."""
    folder = tmp_path_factory.mktemp("recorded")
    (folder / "suites").mkdir()
    (folder / "suites" / "demo.yaml").write_text(SUITE)
    with serve({("POST", "/chat/completions"): answer(200, CHAT)}) as (base_url, _seen):
        (folder / "targets.yaml").write_text(f"targets:\n  fake:\n    base_url: {base_url}\n    profile: compat\n"
                                             f"    models: {{default: m}}\n")
        done = run(folder, "--record-mode", "once", "--no-preflight", "--update-expectations")
    assert done.returncode == 0, done.stdout[-3000:]
    assert (folder / "expectations" / "fake.yaml").exists()
    return folder


@pytest.fixture
def copy(recorded: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "run"
    shutil.copytree(recorded, folder, ignore=shutil.ignore_patterns("reports"))
    return folder


def cells(folder: Path) -> dict[str, dict]:
    results = json.loads((folder / "reports" / "results.json").read_text())["results"]
    return {record["case"]: record for record in results}


def cassette(folder: Path, case: str) -> Path:
    return folder / "cassettes" / "fake" / "demo" / f"{case}.chat.yaml"


def test_the_recording_replays(copy: Path) -> None:
    done = run(copy)
    assert done.returncode == 0, done.stdout[-3000:]
    assert {case: r["verdict"] for case, r in cells(copy).items()} == {"hello": "pass", "again": "pass",
                                                                        "third": "pass"}


DAMAGE = {
    # the file cut in the middle of the answer's body: still valid YAML, but `version:` (written last) is gone
    "cut short": (lambda text: text[: text.rindex('"content"') + 12].encode(), "no `version:` key: the cassette is cut short"),
    "binary garbage": (lambda text: os.urandom(2048), "not UTF-8 text"),
    "nested 100,000 deep": (lambda text: ("interactions: " + "[" * 100_000 + "]" * 100_000 + "\n").encode(),
                            "nested deeper than 256 levels"),
    "an alias bomb": (lambda text: ("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9))
        + "interactions: *j\n").encode(), "refused as an alias bomb"),
    "a wrong shape": (lambda text: text.replace("code: 200", "code: .inf").encode(), "the response has no status code"),
}


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_an_unreadable_cassette_is_one_error_cell_naming_the_file(copy: Path, damage: str) -> None:
    make, reason = DAMAGE[damage]
    path = cassette(copy, "again")
    path.write_bytes(make(path.read_text()))  # generated damage (a fuzz input), not an edit of a real recording
    done = run(copy)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-3000:]  # the run fails: unreadable input
    found = cells(copy)
    assert (found["hello"]["verdict"], found["third"]["verdict"]) == ("pass", "pass")
    broken = found["again"]
    assert broken["verdict"] == "error", broken
    message = broken["failures"][0]["message"]
    assert broken["failures"][0]["check"] == "cassette" and str(path) in message and reason in message, message
    assert "Traceback" not in output and "vcr.errors" not in output and " ERROR " not in output
    assert "cassette (error): cannot replay the cassette" in output  # the failure names the file


def test_a_reason_phrase_beyond_ascii_is_replayed_as_http_carries_it(copy: Path) -> None:
    """HTTP/1.1 reason phrases are ISO-8859-1 bytes; one a cassette holds beyond that is replaced, never a crash."""
    for case, phrase in (("hello", "Ökay"), ("again", "好")):
        path = cassette(copy, case)
        text = path.read_text()
        assert "message: OK" in text
        path.write_text(text.replace("message: OK", f"message: {phrase}"))  # generated damage, labelled
    done = run(copy)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert {case: r["verdict"] for case, r in cells(copy).items()} == {"hello": "pass", "again": "pass",
                                                                        "third": "pass"}


def test_a_deleted_cassette_of_a_target_with_expectations_fails_the_run(copy: Path) -> None:
    cassette(copy, "third").unlink()
    done = run(copy)
    assert done.returncode == 2, done.stdout[-3000:]  # missing input
    missing = cells(copy)["third"]
    assert missing["verdict"] == "error" and "is missing" in missing["failures"][0]["message"]
    assert "--allow-missing" in missing["failures"][0]["message"]
    partial = run(copy, "--allow-missing")
    assert partial.returncode == 0, partial.stdout[-3000:]
    assert cells(copy)["third"]["verdict"] == "not-recorded"


@pytest.mark.parametrize("content", [os.urandom(4096), ("cases: " + "[" * 100_000 + "]" * 100_000 + "\n").encode(),
                                     ("cases:\n" + "- " * 100_000 + "x\n").encode(), b"cases: [!!int abc]\n"],
                         ids=["binary", "flow-100k-deep", "block-100k-deep", "bad-tag"])
def test_a_broken_case_file_is_a_case_file_error_and_the_rest_runs(copy: Path, content: bytes) -> None:
    (copy / "suites" / "broken.yaml").write_bytes(content)
    done = run(copy)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-3000:]  # unreadable input
    assert "case file error:" in output and "broken.yaml" in output and "Segmentation" not in output
    assert {case: r["verdict"] for case, r in cells(copy).items()} == {"hello": "pass", "again": "pass",
                                                                        "third": "pass"}
