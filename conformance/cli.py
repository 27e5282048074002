"""The ``conformance`` command.

  conformance run [OPTIONS] [PYTEST ARGS]   run the suite through pytest (replay by default)
  conformance audit PATH [PATH ...]         check recorded OpenAI traffic (vcrpy cassettes)
  conformance checks                        list the named checks
"""

from __future__ import annotations

import sys
from pathlib import Path

USAGE = __doc__


def run(argv: list[str]) -> int:
    """Run the suite: ``pytest conformance/run/suite.py -p conformance.run.plugin`` plus the given options."""
    import pytest

    suite = str(Path(__file__).parent / "run" / "suite.py")
    # In replay the plugin marks every item block_network: any socket is a bug.
    return int(pytest.main([suite, "-p", "conformance.run.plugin", "-p", "no:cacheprovider", "-q", "-rfE", *argv]))


def checks(argv: list[str]) -> int:
    """Print every registered check with the first line of its docstring."""
    from conformance.checks import CHECKS

    for name in sorted(CHECKS):
        doc = CHECKS[name].doc.splitlines()[0] if CHECKS[name].doc else ""
        implicit = " (every answer)" if CHECKS[name].implicit else ""
        print(f"{name:28} {doc}{implicit}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run(rest)
    if command == "audit":
        from conformance.audit.main import main as audit_main

        return audit_main(rest)
    if command == "checks":
        return checks(rest)
    print(f"unknown command {command!r}\n{USAGE}", file=sys.stderr)
    return 2
