#!/usr/bin/env bash
# The package works wherever it is installed: build the wheel, install it (with its pinned dependencies from the
# package index) in a fresh virtualenv, and use it from a folder OUTSIDE the checkout, where no contract, case,
# target or fixture can be found by accident:
#   (a) `conformance audit` on a generated deviant cassette (a chat.completion with `id: 5`) exits 1 naming the
#       `schema` check, and the same cassette with a string id exits 0 (so the failure is the id, not setup);
#   (b) `conformance run --target aimock` replays a copy of the committed cassettes/ and expectations/: exit 0,
#       matrix printed;
#   (c) `conformance checks` lists the checks.
# Usage: bash scripts/check_wheel.sh          (PYTHON=python3.11 to choose the interpreter; KEEP=1 keeps the temp dir)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/check-wheel.XXXXXX")"
if [ -z "${KEEP:-}" ]; then trap 'rm -rf "$WORK"' EXIT; fi
START=$SECONDS

say() { echo "check_wheel: $*"; }
fail() { echo "check_wheel: FAIL: $*" >&2; exit 1; }
trap 'echo "check_wheel: FAIL: a command failed (exit $?) at line $LINENO of $0" >&2' ERR

case "$WORK" in "$ROOT"/*) fail "the temporary folder $WORK is inside the checkout";; esac
mkdir -p "$WORK/log"

# 1. Build from a clean copy of the sources (tracked and new files, not ignored ones): an in-tree build would
#    reuse a stale build/ folder and could ship modules deleted since.
say "copying the sources"
mkdir "$WORK/src"
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- pyproject.toml README.md conformance) |
    while IFS= read -r -d '' file; do [ -f "$ROOT/$file" ] && printf '%s\0' "$file"; done |
    (cd "$ROOT" && tar --null -T - -cf -) | (cd "$WORK/src" && tar -xf -)
[ -f "$WORK/src/pyproject.toml" ] || fail "no pyproject.toml copied from $ROOT (is it a git checkout?)"

say "creating a fresh virtualenv ($("$PYTHON" --version 2>&1))"
"$PYTHON" -m venv "$WORK/venv" || fail "cannot create a virtualenv with $PYTHON"
VENV="$WORK/venv/bin"

say "building the wheel"
"$VENV/python" -m pip wheel --quiet --no-deps -w "$WORK/dist" "$WORK/src" > "$WORK/log/build.txt" 2>&1 ||
    { cat "$WORK/log/build.txt" >&2; fail "the wheel did not build"; }
WHEELS=("$WORK"/dist/conformance-*.whl)
[ ${#WHEELS[@]} -eq 1 ] && [ -f "${WHEELS[0]}" ] || fail "expected one conformance wheel in $WORK/dist"
say "built $(basename "${WHEELS[0]}")"

say "installing the wheel and its dependencies"
"$VENV/python" -m pip install --quiet "${WHEELS[0]}" > "$WORK/log/install.txt" 2>&1 ||
    { cat "$WORK/log/install.txt" >&2; fail "the wheel did not install"; }

# Everything below runs from a folder outside the checkout, with the installed package only.
OUT="$WORK/outside"
mkdir "$OUT"
cd "$OUT"
export PATH="$VENV:$PATH"
unset PYTHONPATH
LOCATION="$("$VENV/python" -c 'import conformance, os; print(os.path.dirname(conformance.__file__))')"
case "$LOCATION" in "$WORK/venv"/*) ;; *) fail "conformance is imported from $LOCATION, not the fresh virtualenv";; esac

# (a) The audit on a deviant cassette, generated here by code (never a recording).
say "(a) conformance audit on a generated deviant cassette"
"$VENV/python" - <<'PY'
"""Write two one-interaction cassettes: deviant.yaml (a chat.completion whose id is the number 5) and
control.yaml (the same answer with a string id). GENERATED test data, labelled as such in each file."""
import json

import yaml


def write(path, chat_id):
    details = {"cached_tokens": 0, "audio_tokens": 0, "cache_write_tokens": 0}
    answer = {"id": chat_id, "object": "chat.completion", "created": 1764460800, "model": "gpt-4o-mini-2024-07-18",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello.", "refusal": None,
                                                    "annotations": []},
                           "logprobs": None, "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11,
                        "prompt_tokens_details": details,
                        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                      "accepted_prediction_tokens": 0,
                                                      "rejected_prediction_tokens": 0}},
              "service_tier": "default", "system_fingerprint": "fp_0000000000"}
    request = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello."}]}
    interaction = {"request": {"method": "POST", "uri": "https://api.openai.com/v1/chat/completions",
                               "body": json.dumps(request), "headers": {"Content-Type": ["application/json"]}},
                   "response": {"status": {"code": 200, "message": "OK"},
                                "headers": {"Content-Type": ["application/json"]},
                                "body": {"string": json.dumps(answer)}}}
    with open(path, "w", encoding="utf-8") as out:
        out.write("# GENERATED by scripts/check_wheel.sh: a payload made by code to test the audit, "
                  "not a recording.\n")
        yaml.safe_dump({"interactions": [interaction], "version": 1}, out, sort_keys=False)


write("deviant.yaml", 5)
write("control.yaml", "chatcmpl-0000000000000000000000000000")
PY
status=0
conformance audit deviant.yaml --json deviant.json > "$WORK/log/audit-deviant.txt" 2>&1 || status=$?
cat "$WORK/log/audit-deviant.txt"
[ $status -eq 1 ] || fail "conformance audit on the deviant cassette exited $status, expected 1"
"$VENV/python" - <<'PY' || fail "the audit report does not name the schema check for the numeric id"
import json
import sys

report = json.load(open("deviant.json"))
failures = [f for item in report["interactions"] for f in item["failures"]]
named = [f for f in failures if f["check"] == "schema" and "/id" in f["message"]]
if not named:
    sys.exit(f"failing checks: {[(f['check'], f['message'][:120]) for f in failures]}")
PY
grep -q "schema" "$WORK/log/audit-deviant.txt" || fail "the audit's terminal summary does not name the schema check"
status=0
conformance audit control.yaml > "$WORK/log/audit-control.txt" 2>&1 || status=$?
[ $status -eq 0 ] || { cat "$WORK/log/audit-control.txt" >&2; fail "the control cassette (string id) exited $status, expected 0"; }

# (b) Replay on a copy of the committed cassettes and expectations: the built-in suites and targets come from
#     the package, the recordings and known verdicts from this folder.
say "(b) conformance run --target aimock (replay of a copy of cassettes/ and expectations/)"
cp -R "$ROOT/cassettes" "$ROOT/expectations" "$OUT/"
status=0
conformance run --target aimock > "$WORK/log/run.txt" 2>&1 || status=$?
tail -n 25 "$WORK/log/run.txt"
[ $status -eq 0 ] || { cat "$WORK/log/run.txt" >&2; fail "conformance run --target aimock exited $status, expected 0"; }
grep -q "conformance matrix" "$WORK/log/run.txt" || fail "conformance run printed no matrix"
grep -q "^aimock chat: " "$WORK/log/run.txt" || fail "the matrix has no aimock summary line"
[ -f "$OUT/reports/results.json" ] || fail "conformance run wrote no reports/results.json in the working folder"

# (c) The check list.
say "(c) conformance checks"
conformance checks > "$WORK/log/checks.txt" 2>&1 || { cat "$WORK/log/checks.txt" >&2; fail "conformance checks failed"; }
grep -q "^schema " "$WORK/log/checks.txt" || fail "conformance checks does not list the schema check"
say "$(wc -l < "$WORK/log/checks.txt") checks listed"

say "OK in $((SECONDS - START)) s"
