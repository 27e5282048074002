"""``conformance report``: merged shards, baselines with exit codes, claims against observations, the three
outputs. Real results: replays of the committed cassettes (tests/support/replay.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from conformance.api.contracts import specs_path
from conformance.reports import claims, markdown
from conformance.reports.baseline import classify, compare
from conformance.reports.main import main as report_main
from conformance.reports.merged import merge
from conformance.reports.results_file import load_results
from support.replay import replay_once

SUBSET = ("--capability", "text", "--capability", "errors")
SHARDS = ("aimock", "llama-server")  # two committed targets


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """results.json of a replay of every committed target."""
    return replay_once(tmp_path_factory, "all") / "results.json"


@pytest.fixture(scope="module")
def unsharded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two targets, two capabilities, in one run."""
    return replay_once(tmp_path_factory, "subset", *[a for t in SHARDS for a in ("--target", t)], *SUBSET) \
        / "results.json"


def shard(tmp_path_factory: pytest.TempPathFactory, target: str) -> Path:
    """The same cells of one target only."""
    return replay_once(tmp_path_factory, f"subset-{target}", "--target", target, *SUBSET) / "results.json"


def report_of(tmp_path: Path, name: str, *files: Path) -> tuple[int, str, dict, str]:
    """Exit status, Markdown, JSON and the HTML grid of ``conformance report FILES``."""
    out = tmp_path / name
    status = report_main([*map(str, files), "--md", f"{out}.md", "--json", f"{out}.json", "--html", f"{out}.html",
                          "--no-step-summary"])
    assert status == 0
    grid = re.search(r'<table id="matrix">.*?</table>', Path(f"{out}.html").read_text(), re.S).group(0)
    return status, Path(f"{out}.md").read_text(), json.loads(Path(f"{out}.json").read_text()), grid


def comparable(markdown_text: str, document: dict) -> tuple[str, list, list]:
    """What must not depend on how the run was split: the Markdown without its run lines, the cells without
    run ids and timings, the claim mismatches."""
    text = "\n".join(line for line in markdown_text.splitlines() if not line.startswith("- run `"))
    cells = [{k: v for k, v in r.items() if k not in ("run", "duration")} for r in document["results"]]
    return text, cells, document["mismatches"]


def test_merging_shards_gives_the_report_of_one_unsharded_run(tmp_path: Path, unsharded: Path,
                                                              tmp_path_factory: pytest.TempPathFactory) -> None:
    """Split by pytest-xdist (one run, two workers) or by target (two runs): the same report."""
    xdist = replay_once(tmp_path_factory, "subset-xdist", "-n", "2",
                        *[a for t in SHARDS for a in ("--target", t)], *SUBSET) / "results.json"
    one = report_of(tmp_path, "one", unsharded)
    by_xdist = report_of(tmp_path, "xdist", xdist)
    by_target = report_of(tmp_path, "by-target", *[shard(tmp_path_factory, t) for t in SHARDS])
    assert len(one[2]["results"]) > 20 and {r["target"] for r in one[2]["results"]} == set(SHARDS)
    assert comparable(*one[1:3]) == comparable(*by_xdist[1:3]), "xdist shards differ from one run"
    assert comparable(*one[1:3]) == comparable(*by_target[1:3]), "per-target runs differ from one run"
    assert one[3] == by_xdist[3] == by_target[3]  # the HTML grid, cell for cell
    assert len(by_target[2]["runs"]) == len(SHARDS) and one[2]["warnings"] == by_target[2]["warnings"] == []


def test_a_cell_in_two_files_is_shown_once_with_a_warning(tmp_path: Path, unsharded: Path) -> None:
    report = merge([load_results(unsharded), load_results(unsharded)])
    assert len(report.records) == len(load_results(unsharded).records) and report.warnings == []  # same file
    copy = tmp_path / "copy.json"
    copy.write_text(unsharded.read_text())
    report = merge([load_results(unsharded), load_results(copy)])
    assert len(report.records) == len(load_results(unsharded).records)
    assert len(report.warnings) == len(report.records) and "the later one is shown" in report.warnings[0]


@pytest.mark.parametrize(("old", "new", "kind"), [
    ("pass", "fail", "regression"), ("pass", "ignored", "regression"), ("pass", "unsupported", "regression"),
    ("pass", "not-recorded", "regression"), ("fail", "ignored", "regression"), ("fail", "unsupported", "regression"),
    ("ignored", "unsupported", "regression"), ("unsupported", "error", "regression"), ("fail", "error", "regression"),
    ("fail", "pass", "improvement"), ("unsupported", "ignored", "improvement"), ("ignored", "fail", "improvement"),
    ("error", "unsupported", "improvement"), ("fail", "not-recorded", "change"), ("not-recorded", "fail", "change"),
    ("pass", "pass", None), ("error", "error", None)])
def test_what_counts_as_a_regression(old: str, new: str, kind: str | None) -> None:
    assert classify(old, new) == kind


def test_baseline_between_two_real_targets_fails_only_on_regressions(tmp_path: Path, full: Path,
                                                                     capsys: pytest.CaptureFixture) -> None:
    """LiteLLM fronts aimock: is the gateway worse than its backend? (and the other way round)"""
    report = merge([load_results(full)])
    forward = compare(report, report, {"aimock": "litellm"})
    backward = compare(report, report, {"litellm": "aimock"})
    assert forward.regressions and backward.improvements  # the gateway changes some cells for the worse
    assert len(forward.regressions) + len(forward.improvements) + len(forward.changes) > 0
    for entry in forward.regressions:
        assert classify(entry["old"], entry["new"]) == "regression" and entry["finding"]["check"]
    status = report_main([str(full), "--baseline", str(full), "--baseline-map", "aimock=litellm",
                          "--no-step-summary", "--md", str(tmp_path / "diff.md")])
    printed = capsys.readouterr().out
    assert status == 1
    first = forward.regressions[0]
    assert f"regression: litellm {first['api']} {first['capability']}/{first['case']}" in printed
    assert f"[{first['finding']['check']}]" in printed and "improvement: " in printed
    assert "### Regressions" in (tmp_path / "diff.md").read_text()
    assert report_main([str(full), "--baseline", str(full), "--no-step-summary"]) == 0  # nothing changed
    assert "0 regression(s), 0 improvement(s), 0 other change(s)" in capsys.readouterr().out


def test_a_partial_run_is_not_a_regression(tmp_path: Path, unsharded: Path,
                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    aimock = shard(tmp_path_factory, "aimock")
    assert report_main([str(aimock), "--baseline", str(unsharded), "--no-step-summary",
                        "--json", str(tmp_path / "r.json")]) == 0
    diff = json.loads((tmp_path / "r.json").read_text())["baseline"]
    assert diff["gone"] and not diff["regressions"] and {g["target"] for g in diff["gone"]} == \
        {r["target"] for r in load_results(unsharded).records} - {"aimock"}


def test_new_errors_are_regressions(tmp_path: Path, unsharded: Path) -> None:
    document = json.loads(unsharded.read_text())
    cell = next(r for r in document["results"] if r["verdict"] == "pass")
    cell.update(verdict="error", failures=[{"check": "status", "message": "a cassette no longer matches",
                                            "verdict": "error", "role": "root"}])  # derived by this test
    cell["root_cause"] = cell["failures"][0]
    errored = tmp_path / "errored.json"
    errored.write_text(json.dumps(document))
    assert report_main([str(errored), "--baseline", str(unsharded), "--no-step-summary"]) == 1


def test_input_errors_exit_2(tmp_path: Path, unsharded: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "bad.json").write_text('{"format": "conformance.results.v2", "results": []}')
    assert report_main([str(tmp_path / "bad.json")]) == 2
    assert report_main([str(tmp_path / "missing.json")]) == 2
    assert report_main([str(unsharded), "--baseline-map", "a=b"]) == 2
    assert report_main([str(unsharded), "--baseline", str(unsharded), "--baseline-map", "nonsense"]) == 2
    assert report_main([]) == 2
    assert "conformance report:" in capsys.readouterr().err


def test_claims_are_compared_with_observations_both_ways(full: Path) -> None:
    records = load_results(full).records
    by_key = {(r["target"], r["case"], r["api"], r["stream"]): r for r in records}
    audio = by_key[("aimock", "audio-output", "chat", False)]  # documented on chat, aimock answers no audio
    assert audio["verdict"] == "ignored" and claims.mismatch(audio) == "documented-absent"
    rejection = by_key[("aimock", "chat-has-no-server-state", "chat", False)]
    assert rejection["probe"] == "rejection" and claims.mismatch(rejection) is None
    failing = [r for r in records if claims.mismatch(r) == "documented-failing"]
    assert failing and all(r["verdict"] == "fail" and claims.claim_of(r)["status"] == "supported" for r in failing)
    # Undocumented but working: the audio case made to claim chat audio "coming soon" and to pass (derived
    # by this test: no committed target has an undocumented feature that works).
    derived = dict(audio, verdict="pass", claims={"chat": {"status": "coming-soon", "doc": "https://x"}})
    assert claims.mismatch(derived) == "undocumented-working"
    code = by_key[("aimock", "code-interpreter", "responses", False)]
    text = claims.describe(claims.claim_of(code))
    assert text.startswith("supported") and "was coming soon on 2025-03-11" in text


def test_json_output_follows_the_schema_and_reads_back(tmp_path: Path, unsharded: Path) -> None:
    _, _, document, _ = report_of(tmp_path, "one", unsharded)
    schema = json.loads(specs_path("results.schema.json").read_text())
    assert [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(document)] == []
    assert len(load_results(tmp_path / "one.json").records) == len(document["results"])
    assert json.loads(unsharded.read_text())["format"] == "conformance.results.v2"
    assert [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(
        json.loads(unsharded.read_text()))] == []


def test_the_github_step_summary_is_appended_and_kept_under_1_mib(tmp_path: Path, full: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert report_main([str(full)]) == 0
    text = summary.read_text()
    assert text.startswith("# earlier step\n") and "| capability | case |" in text
    assert len(text.encode()) < markdown.GITHUB_SUMMARY_LIMIT
    report = merge([load_results(full)])
    small = markdown.render(report, limit=30_000)
    assert len(small.encode()) <= 30_000 and "left out to stay under the size limit" in small
    tiny = markdown.render(report, limit=3_000)
    assert len(tiny.encode()) <= 3_000 and "size limit" in tiny
    summary.write_text("x" * (markdown.GITHUB_SUMMARY_LIMIT - 100))
    assert report_main([str(full)]) == 0 and len(summary.read_bytes()) == markdown.GITHUB_SUMMARY_LIMIT - 100


def test_the_html_page_is_self_contained_and_has_every_cell(tmp_path: Path, full: Path) -> None:
    page = (full.parent / "matrix.html").read_text()  # written by `conformance run`
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert not re.search(r'<(script|link|img|iframe)[^>]+(src|href)=', page)  # nothing loaded from anywhere
    data = json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page,
                                re.S).group(1))
    records = load_results(full).records
    assert len(data["cells"]) == len(records) == page.count("data-cell=")
    with_excerpts = [c for c in data["cells"] if c["steps"] and c["steps"][0]["origin"] == "cassette"]
    assert len(with_excerpts) == sum(1 for r in records if r["steps"])  # every sent step found in its cassette
    assert "⚙ scripted" in page and "<svg" in page


def test_several_sdk_versions_are_columns_of_one_report(tmp_path: Path, unsharded: Path) -> None:
    document = json.loads(unsharded.read_text())
    for record in document["results"]:  # relabelled by this test, as a run through the SDK lane would be
        record.update(client="sdk", sdk_version="2.0.0")
    document["run"].update(id="sdk-run", client={"name": "sdk", "sdk_version": "2.0.0"})
    sdk = tmp_path / "sdk.json"
    sdk.write_text(json.dumps(document))
    report = merge([load_results(unsharded), load_results(sdk)])
    assert len(report.records) == 2 * len(load_results(unsharded).records) and report.warnings == []
    assert {variant for _, _, variant in report.columns()} == {"raw", "sdk 2.0.0"}
    status, text, _, grid = report_of(tmp_path, "both", unsharded, sdk)
    assert status == 0 and "(sdk 2.0.0)" in text and "sdk 2.0.0" in grid
    # a new SDK release compares with the last one's run: the version does not split the cells
    older = json.loads(sdk.read_text())
    for record in older["results"]:
        record["sdk_version"] = "1.99.0"
    older["run"]["id"] = "sdk-older"
    (tmp_path / "older.json").write_text(json.dumps(older))
    assert report_main([str(sdk), "--baseline", str(tmp_path / "older.json"), "--no-step-summary"]) == 0
    diff = compare(merge([load_results(tmp_path / "older.json")]), merge([load_results(sdk)]))
    assert (diff.regressions, diff.new, diff.gone) == ([], [], [])
