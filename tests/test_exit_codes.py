"""Exit statuses of ``conformance run`` (conformance/run/status.py, README "Reliability"): 0 as known, 1 a
verdict differs, 2 usage or unreadable input, 3 internal error, 130 interrupted; distinct, the highest applying.

The end-to-end cases run against a scripted loopback server; the internal error is provoked by a test plugin
that makes the harness raise on one case (a bug planted in code, labelled as such). Unreadable input (damaged
or deleted cassettes, broken case files) is in tests/test_replay_damage.py, interruptions in
tests/test_record_interrupted.py and tests/test_run_interrupted.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.run import status
from support.server import answer, serve
from support.suites import chat_case, suite

SUITE = suite(chat_case("hello"), """\
  - id: broken
    description: The harness raises on this case (a planted bug).
    claim:
      chat: {status: supported, doc: "https://example.test/doc"}
    expect: [text_nonempty]
    chat:
      request: {body: {model: "${model}", messages: [{role: user, content: again}]}}
""")
CHAT = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                     "message": {"role": "assistant", "content": "Hello there."}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}}
# A pytest plugin that plants a bug in the harness: run_case raises on the case `broken`.
PLANTED_BUG = """\
def pytest_collection_modifyitems(items):
    for item in items:
        module = item.module
        if hasattr(module, "run_case"):
            original = module.run_case

            def raising(case, *args, **kwargs):
                if case.id == "broken":
                    raise RuntimeError("a planted bug in the harness")
                return original(case, *args, **kwargs)

            module.run_case = raising
            return
"""


def live_run(tmp_path: Path, *options: str) -> subprocess.CompletedProcess:
    (tmp_path / "suites").mkdir(exist_ok=True)
    (tmp_path / "suites" / "demo.yaml").write_text(SUITE)
    (tmp_path / "planted_bug.py").write_text(PLANTED_BUG)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))}
    with serve({("POST", "/chat/completions"): answer(200, CHAT)}) as (base_url, _seen):
        (tmp_path / "targets.yaml").write_text(f"targets:\n  fake:\n    base_url: {base_url}\n    profile: compat\n"
                                               f"    models: {{default: m}}\n")
        return subprocess.run([sys.executable, "-m", "conformance", "run", "--targets", "targets.yaml", "--suites",
                               "suites", "--reports", "reports", "--expectations", "expectations", "--target",
                               "fake", "--live", "--no-preflight", *options],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)


def test_a_run_as_known_exits_0(tmp_path: Path) -> None:
    done = live_run(tmp_path)
    assert done.returncode == 0, done.stdout[-3000:]


def test_a_harness_error_exits_3_and_the_other_cells_are_kept(tmp_path: Path) -> None:
    done = live_run(tmp_path, "-p", "planted_bug")
    output = done.stdout + done.stderr
    assert done.returncode == 3, output[-3000:]
    assert "a planted bug in the harness" in output  # the traceback of the bug is shown
    results = json.loads((tmp_path / "reports" / "results.json").read_text())
    assert [r["case"] for r in results["results"]] == ["hello"]
    assert results["run"]["exit_status"] == 3


@pytest.mark.parametrize("options", [["--capability", "no-such-capability"], ["--api", "no-such-api"],
                                     ["--target", "no-such-target"]], ids=["nothing to run", "bad option",
                                                                          "unknown target"])
def test_a_usage_error_exits_2(tmp_path: Path, options: list[str]) -> None:
    done = live_run(tmp_path, *options)
    assert done.returncode == 2, (done.stdout + done.stderr)[-3000:]
    assert "Traceback" not in done.stdout + done.stderr


def test_pytest_codes_are_translated_and_distinct() -> None:
    assert [status.from_pytest(code) for code in range(6)] == [0, 1, 130, 3, 2, 2]
    assert status.from_pytest(99) == 3


def test_the_highest_status_applies_and_an_interrupted_run_stays_interrupted() -> None:
    assert status.escalate(0, input_error=False, internal_error=False) == 0
    assert status.escalate(1, input_error=False, internal_error=False) == 1
    assert status.escalate(1, input_error=True, internal_error=False) == status.PYTEST_USAGE
    assert status.escalate(0, input_error=True, internal_error=True) == status.PYTEST_INTERNAL
    assert status.escalate(2, input_error=True, internal_error=True) == 2  # interrupted


def test_only_unintended_exceptions_are_internal() -> None:
    for deliberate in (pytest.fail.Exception("x"), pytest.skip.Exception("x"), pytest.xfail.Exception("x")):
        assert not status.is_internal(deliberate)
    assert status.is_internal(RuntimeError("bug")) and status.is_internal(KeyError("k"))
    assert not status.is_internal(None) and not status.is_internal(KeyboardInterrupt())


def test_a_run_where_nothing_answered_exits_2(tmp_path: Path) -> None:
    # a refused connection on every cell is the setup's problem; with no expectations to compare, never exit 0
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "demo.yaml").write_text(SUITE)
    done = subprocess.run([sys.executable, "-m", "conformance", "run", "--base-url", "http://127.0.0.1:9/v1",
                           "--model", "m", "--no-preflight", "--suites", "suites", "--reports", "reports",
                           "--expectations", "expectations", "--connect-timeout", "2"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, (done.stdout + done.stderr)[-3000:]
    results = json.loads((tmp_path / "reports" / "results.json").read_text())["results"]
    assert results and {r["verdict"] for r in results} == {"error"}
