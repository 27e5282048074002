"""``conformance fuzz [--target NAME] [--api chat|responses] [--max-requests N] [--seed S] [--live | --record-mode M]``

Generated requests against a target, from our OpenAPI document (``conformance.api.openapi``; another with
``--openapi FILE``): schemathesis' deterministic coverage cases, then seeded positive and negative
generation, every answer judged by schemathesis' checks and the suite's own, each finding shrunk to a small
request and reported with a curl command that sends it again.

Like ``conformance run``, it replays by default: the committed recordings
(``cassettes/<target>/robustness/generated-requests.<api>.yaml``), network blocked, with the settings they
were recorded with. ``--live`` talks to the target; ``--record-mode rewrite`` (or ``all``) records anew,
``once`` records what is missing. A target whose server the suite starts (aimock, llama-server, ...) is
started as ``conformance run`` starts it.

Writes a ``robustness`` row per target and API into ``reports/results.json`` and the matrix files, and the
full details into ``reports/fuzz.json``. Exit status: 0 when every row has its known verdict
(``expectations/robustness/<target>.yaml``; ``--update-expectations`` writes it), 1 when one differs,
2 on usage or setup errors (unknown target, no recording, a recording made with other libraries).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any, Iterator

from conformance.api import openapi as model
from conformance.api.endpoints import APIS
from conformance.api.vocabulary import PROFILES
from conformance.cases.targets import Target, TargetError, load_targets
from conformance.checks.openapi import OpenApiError, load_schema, operations, prepare, read_document
from conformance.checks.findings import Verdict
from conformance.fuzz import determinism, recording, report
from conformance.fuzz.engine import Engine, Outcome
from conformance.fuzz.judging import CATEGORIES, Judge
from conformance.fuzz.sending import Budget, NotConnected, ReplayMismatch, Sender
from conformance.verdicts import expectations

DEFAULTS = {"seed": 1, "max_requests": 60, "max_shrink_requests": 90, "shrink_per_finding": 45}
# Per local server: request fields left out of the document (a request's own token limit overrides the
# server's cap; n multiplies the work) and the environment the server is started with. Leaving a field out
# never narrows a range: negative generation would take a legal value outside a narrowed range for invalid.
SERVER_SETTINGS: dict[str, dict[str, Any]] = {
    "llama-server": {"omit": ["n", "max_completion_tokens", "max_output_tokens"],
                     "env": {"LLAMA_ARG_N_PREDICT": "16"}},  # llama.cpp reads -n from this variable too
}
EXIT_OK, EXIT_DIFFERENT, EXIT_USAGE = 0, 1, 2
# Seconds an answer may take. Longer than a suite run's: generated prompts can be long and a local model on a
# busy 2-core machine slow; no answer within it is still a finding (transport).
READ_TIMEOUT = 180.0


class UsageError(Exception):
    """A problem of the command line or the setup (exit status 2)."""


def parser() -> argparse.ArgumentParser:
    """The command line of ``conformance fuzz``."""
    p = argparse.ArgumentParser(prog="conformance fuzz", description=__doc__.split("\n\n")[1],
                                epilog="exit status: 0 known verdicts, 1 a verdict differs, 2 usage or setup error")
    p.add_argument("--target", action="append", default=[], help="a named target (repeatable; replay default: "
                                                                 "every target with fuzz recordings)")
    p.add_argument("--targets", action="append", default=[], help="extra targets YAML file (repeatable)")
    p.add_argument("--api", choices=APIS, help="only this API (default: both)")
    p.add_argument("--max-requests", type=int, help=f"distinct requests per API besides shrinking, half coverage "
                                                    f"cases, half generated (default {DEFAULTS['max_requests']})")
    p.add_argument("--max-shrink-requests", type=int,
                   help=f"requests per API for shrinking findings (default {DEFAULTS['max_shrink_requests']})")
    p.add_argument("--shrink-per-finding", type=int,
                   help=f"at most this many of them per finding (default {DEFAULTS['shrink_per_finding']})")
    p.add_argument("--seed", type=int, help=f"the generation seed (default {DEFAULTS['seed']})")
    p.add_argument("--omit", help="comma-separated request fields to leave out of the document (cost control)")
    p.add_argument("--operation", action="append", metavar="'METHOD /path'",
                   help="only this operation, as schemathesis labels it, e.g. 'POST /responses' (repeatable)")
    p.add_argument("--openapi", metavar="FILE", help="generate from this OpenAPI document instead of ours "
                                                     "(e.g. ../shared/spec/openai/openapi.yaml)")
    p.add_argument("--profile", choices=PROFILES, help="judge answers under this profile (default: the target's)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--live", action="store_true", help="talk to the target, record nothing")
    mode.add_argument("--record-mode", choices=["none", "once", "rewrite", "all"], default="none",
                      help="none (replay, default), once (record what is missing), rewrite/all (record anew)")
    p.add_argument("--cassettes", default="cassettes", help="cassette directory (default ./cassettes)")
    p.add_argument("--reports", default="reports", help="report directory (default ./reports)")
    p.add_argument("--expectations", default="expectations",
                   help="expectations directory; robustness verdicts live in its robustness/ folder")
    p.add_argument("--update-expectations", action="store_true", help="write this run's verdicts as the known ones")
    return p


def choose_targets(args: argparse.Namespace) -> list[Target]:
    """The targets named, or in replay every target with fuzz recordings."""
    try:
        known = load_targets(*args.targets)
    except TargetError as exc:
        raise UsageError(str(exc)) from None
    for name in args.target:
        if name not in known:
            raise UsageError(f"unknown target {name!r}; known: {', '.join(sorted(known))}")
    if args.target:
        return [known[name] for name in args.target]
    if args.live or args.record_mode != "none":
        raise UsageError("live runs and recording need --target NAME")
    found = [known[name] for name in sorted(known)
             if (Path(args.cassettes) / name / recording.CAPABILITY).is_dir()]
    if not found:
        raise UsageError(f"no fuzz recordings under {args.cassettes}/*/{recording.CAPABILITY}/")
    return found


def settings_for(args: argparse.Namespace, target: Target, api: str, cassette: Path, replay: bool) -> dict[str, Any]:
    """The run's settings: a replay's come from its recording (an option that contradicts them is an error)."""
    asked = {"seed": args.seed, "max_requests": args.max_requests, "max_shrink_requests": args.max_shrink_requests,
             "shrink_per_finding": args.shrink_per_finding,
             "omit": sorted(args.omit.split(",")) if args.omit else None,
             "profile": args.profile, "openapi": args.openapi, "operations": args.operation}
    if replay:
        recorded = recording.read_settings(cassette)
        clashes = [f"--{key.replace('_', '-')} {value} (recorded: {recorded.get(key)})"
                   for key, value in asked.items() if value is not None and value != recorded.get(key)]
        if clashes:
            raise UsageError(f"{cassette}: replay uses the recording's settings; these differ: {', '.join(clashes)} "
                             "(re-record with --record-mode rewrite to change them)")
        return {key: recorded.get(key) for key in recording.SETTING_KEYS}
    return new_settings(target, **asked)


def new_settings(target: Target, **given: Any) -> dict[str, Any]:
    """The settings of a new run against ``target``: ``given`` values (None: the default), the target's
    profile and model, and the fields its server's settings leave out."""
    settings = {key: given.get(key) if given.get(key) is not None else DEFAULTS.get(key)
                for key in ("seed", "max_requests", "max_shrink_requests", "shrink_per_finding", "openapi",
                            "operations")}
    server = SERVER_SETTINGS.get(target.server or "", {})
    settings["omit"] = sorted(given["omit"]) if given.get("omit") is not None else sorted(server.get("omit", []))
    settings["profile"] = given.get("profile") or target.profile
    settings["model"] = target.model()
    settings["coverage_requests"] = settings["max_requests"] // 2
    return settings


def document_for(settings: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document requests are generated from, prepared (model pinned, fields omitted)."""
    if settings.get("openapi"):
        document = read_document(settings["openapi"])
    else:
        document = model.pin_model(model.build_document(settings["profile"]), settings["model"])
    return prepare(model.omit_fields(document, tuple(settings.get("omit") or ())))


@contextlib.contextmanager
def reachable(target: Target, replay: bool) -> Iterator[Target]:
    """The target with a usable base URL: in replay a placeholder port, live its started server's."""
    if not target.server:
        yield target
        return
    if replay:
        yield target.bound(0)
        return
    from conformance.transport.servers import RunningServer, ServerError

    env = SERVER_SETTINGS.get(target.server, {}).get("env", {})
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)  # the server inherits the environment it is started in
    try:
        server = RunningServer(target.server).start()
    except ServerError as exc:
        raise UsageError(f"cannot start {target.server}: {exc}") from None
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    try:
        yield target.bound(server.port, server.api_key)
    finally:
        server.stop()


def fuzz_api(target: Target, api: str, settings: dict[str, Any]) -> tuple[Outcome, str]:
    """One API's run against a reachable target (inside a cassette context when recording or replaying)."""
    from conformance.transport.http import Limits, make_client

    determinism.freeze_hypothesis()
    document = document_for(settings)
    schema = load_schema(document)
    found = operations(schema, document, model.SCOPE)
    chosen = [op for (method, template), op in found.items()
              if any(e.api == api and e.method == method and e.template == template for e in model.SCOPE)
              and (not settings.get("operations") or op.label in settings["operations"])]
    if not chosen:
        raise UsageError(f"the document has no {api} operation in scope")
    coverage = settings["coverage_requests"]
    budget = Budget(coverage=coverage, generate=settings["max_requests"] - coverage,
                    shrink=settings["max_shrink_requests"], shrink_per_finding=settings["shrink_per_finding"])
    with make_client(Limits(read=READ_TIMEOUT, total=READ_TIMEOUT)) as client:
        sender = Sender(client, target, budget)
        engine = Engine(schema, chosen, sender, Judge(api, settings["profile"], target.deterministic),
                        settings["seed"])
        return engine.run(), model.request_digest(document)


def run_one(args: argparse.Namespace, target: Target, api: str) -> tuple[Any, dict[str, Any]] | None:
    """Fuzz (or replay) one target and API; None when replaying and there is no recording of it."""
    cassette = recording.cassette_for(args.cassettes, target.name, api)
    replay = not args.live and (args.record_mode == "none" or (args.record_mode == "once" and cassette.is_file()))
    if replay and not cassette.is_file():
        print(f"{target.name} {api}: not recorded ({cassette}); record it with "
              f"`conformance fuzz --target {target.name} --api {api} --record-mode rewrite`")
        return None
    settings = settings_for(args, target, api, cassette, replay)
    libraries = determinism.library_versions()
    with contextlib.ExitStack() as stack:
        bound = stack.enter_context(reachable(target, replay))
        if replay:
            problems = recording.replay_problems(recording.read_settings(cassette), libraries,
                                                 model.request_digest(document_for(settings)))
            if problems:
                raise UsageError(f"{cassette} cannot be replayed: {'; '.join(problems)}; re-record it "
                                 f"(conformance fuzz --target {target.name} --api {api} --record-mode rewrite)")
            stack.enter_context(recording.use_cassette(cassette, "none"))
            stack.enter_context(recording.network_blocked())
        elif not args.live:
            for stale in (cassette, recording.settings_file(cassette)):
                stale.unlink(missing_ok=True)
            cassette.parent.mkdir(parents=True, exist_ok=True)
            stack.enter_context(recording.use_cassette(cassette, "all"))
        outcome, document = fuzz_api(bound, api, settings)
    mode = "replay" if replay else "live" if args.live else "record"
    if mode == "record":
        recording.write_settings(cassette, settings, libraries, document, len(outcome.sent))
    source = f"conformance fuzz, {mode}, seed {settings['seed']}"
    result = report.case_result(target.name, api, settings["profile"], outcome, target.base_url,
                                target.api_key_env, None if args.live else cassette, source)
    record = report.run_record(target.name, api, outcome, {**settings, "libraries": libraries}, target.base_url,
                               target.api_key_env, mode, None if args.live else cassette)
    return result, record


def write_known(directory: Path, target: str, results: list[Any]) -> Path:
    """Write the robustness verdicts of ``target`` as its known ones (``expectations/robustness/<target>.yaml``)."""
    import yaml

    current = expectations.load(directory, target)
    known = {}
    for result in sorted(results, key=lambda r: r.key):
        observed = current.observed(result)
        if observed.verdict is Verdict.ERROR:
            raise UsageError(f"{target}: refusing to record a suite error as a known verdict ({result.key})")
        if observed.verdict is Verdict.PASS and not observed.checks:
            continue
        known[result.key] = {"verdict": observed.verdict.value, "checks": sorted(observed.checks),
                             "why": (result.failures[0].message[:200] if result.failures else "")}
    path = directory / f"{target}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# Known robustness verdicts of target {target!r} (generated requests). Regenerated by\n"
              f"# `conformance fuzz --target {target} --update-expectations`; a fuzz run fails when a verdict or "
              "its set of\n# failing checks differs from these (not listed: pass with no finding).\n")
    path.write_text(header + yaml.safe_dump({"known": known}, sort_keys=False, width=200, allow_unicode=True))
    return path


def show(result: Any, record: dict[str, Any]) -> None:
    """Print one run's figures and findings."""
    print(f"\n{result.target} {result.api}: {result.verdict.value}  ({record['mode']}, "
          f"{record['seconds']:.1f} s)")
    print("  " + result.description.split(": ", 1)[-1])
    for failure in result.failures:
        evidence = failure.evidence
        print(f"  {failure.verdict.value.upper():7} [{failure.check}] {evidence['operation']} ({evidence['mode']}, "
              f"{evidence['requests']} request(s)): {evidence['problem'][:200]}")
        print(f"          minimal (shrunk: {evidence['shrunk']}), answered {evidence['status']}: {evidence['curl'][:400]}")


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    results, records = [], []
    try:
        for target in choose_targets(args):
            for api in ([args.api] if args.api else list(APIS)):
                done = run_one(args, target, api)
                if done:
                    results.append(done[0])
                    records.append(done[1])
                    show(*done)
    except (UsageError, recording.RecordingError, OpenApiError, NotConnected) as exc:
        print(f"conformance fuzz: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ReplayMismatch as exc:
        print(f"conformance fuzz: the recording no longer matches the generated requests ({exc}); re-record it "
              "with --record-mode rewrite", file=sys.stderr)
        return EXIT_USAGE
    if not results:
        return EXIT_OK
    reports = Path(args.reports)
    report.write_fuzz_json(reports, records)
    written = report.merge_into_results(reports, results)
    known_dir = Path(args.expectations) / recording.CAPABILITY
    status = EXIT_OK
    print()
    for target in sorted({r.target for r in results}):
        mine = [r for r in results if r.target == target]
        if args.update_expectations:
            print(f"known verdicts written: {write_known(known_dir, target, mine)}")
            continue
        known = expectations.load(known_dir, target)
        for result in mine:
            observed = known.observed(result)
            # nothing known about this target yet: report its verdicts (as `conformance run` does)
            expected = known.expected(result) if getattr(known, "exists", True) else observed
            ending, why = expectations.outcome(expected, observed)
            if ending == "fail":
                status = EXIT_DIFFERENT
            print(f"{result.key} on {target}: {result.verdict.value} ({'as known' if ending != 'fail' else why})")
    print(f"reports: {reports / 'fuzz.json'}  {written.get('results')}")
    legend = ", ".join(CATEGORIES.values())
    print(f"(categories: {legend})")
    return status
