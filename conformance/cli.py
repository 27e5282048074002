"""The ``conformance`` command.

  conformance run [OPTIONS] [PYTEST ARGS]   run the suite through pytest (replay by default); exit 0 as known,
                                            1 a verdict differs, 2 usage or unreadable input, 3 internal error,
                                            130 interrupted
  conformance audit PATH [PATH ...]         check recorded OpenAI traffic (vcrpy cassettes)
  conformance checks                        list the named checks
  conformance report RESULTS... [--baseline OLD] [--html F] [--md F] [--json F]
                                            merge results files into one report; exit 1 on regressions
  conformance sdk-matrix DIR                merge the SDK lane's runs (one per openai version) into one matrix;
                                            exit 1 on a regression between SDK versions
  conformance fuzz [--target NAME] [--api A] [--max-requests N] [--seed S] [--live | --record-mode M]
                                            generated requests (schemathesis): the robustness rows

Output piped to a reader that stops early (``conformance checks | head``) ends the command with status 141.
"""

from __future__ import annotations

import sys
from pathlib import Path

USAGE = __doc__


def run(argv: list[str]) -> int:
    """Run the suite: ``pytest conformance/run/suite.py -p conformance.run.plugin`` plus the given options."""
    import pytest

    from conformance.memory import fewer_collections

    suite = str(Path(__file__).parent / "run" / "suite.py")
    # `--strict` is ours here (fail on every non-pass verdict); pytest's own --strict is another option
    argv = ["--strict-verdicts" if arg == "--strict" else arg for arg in argv]
    # In replay the plugin marks every item block_network: any socket is a bug.
    # Start-up: schemathesis's pytest plugin is not used by the suite (`conformance fuzz` uses schemathesis as a
    # library), and the suite asserts nothing itself (its verdicts end items through pytest.fail/skip), so the
    # plugins' modules need no assertion rewriting (redone on every run when bytecode is not written)
    with fewer_collections():  # a run keeps every cell's results until its reports are written
        code = pytest.main([suite, "-p", "conformance.run.plugin", "-p", "no:cacheprovider", "-p", "no:schemathesis",
                            "--assert=plain", "-q", "-rfE", *argv])
    from conformance.run.status import from_pytest

    return from_pytest(code)  # 0 pass, 1 fail, 2 usage or unreadable input, 3 internal, 130 interrupted


def checks(argv: list[str]) -> int:
    """Print every registered check with the first line of its docstring."""
    from conformance.checks import CHECKS

    for name in sorted(CHECKS):
        doc = CHECKS[name].doc.splitlines()[0] if CHECKS[name].doc else ""
        implicit = " (every answer)" if CHECKS[name].implicit else ""
        print(f"{name:28} {doc}{implicit}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The ``conformance`` command; its exit status (a reader that stopped reading: 141, as after SIGPIPE)."""
    try:
        status = _dispatch(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()  # here, not at exit: a reader that stopped reading is caught below
        return status
    except BrokenPipeError:
        from conformance.reports import pipe

        if not pipe.reader_went_away():
            raise  # a pipe of the command's own: a crash, with its traceback
        return pipe.reader_gone()


def _dispatch(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run(rest)
    if command == "audit":
        from conformance.audit.main import main as audit_main

        return audit_main(rest)
    if command == "report":
        from conformance.reports.main import main as report_main

        return report_main(rest)
    if command == "sdk-matrix":
        from conformance.reports.sdk_matrix import main as sdk_matrix_main

        return sdk_matrix_main(rest)
    if command == "checks":
        return checks(rest)
    if command == "fuzz":
        from conformance.fuzz.main import main as fuzz_main

        return fuzz_main(rest)
    print(f"unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2
