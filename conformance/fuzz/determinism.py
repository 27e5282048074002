"""What makes a fuzz run a function of (seed, request budget, document, library versions) only.

A recorded run is replayed by generating the same requests again and answering them from the cassette,
so generation must not depend on anything else. Each fix below was found by a run that did not replay:

1. Hypothesis (>= 6.13x) mixes int, float and string literals it finds in every *local* module (outside
   site-packages and the standard library: this package, installed editable, and the test files' modules)
   into generation. Generated requests would then change whenever a string literal anywhere in our code
   changes, or one more module is imported (an in-process test server while recording but not replaying).
   There is no setting for it: ``freeze_hypothesis`` replaces the internal hook with an empty set.
   Re-check this on every Hypothesis upgrade (``tests/test_fuzz.py`` fails if the hook moves).
2. ``database=None``: a failure saved in ``.hypothesis/`` would be replayed first and change the sequence.
3. An explicit seed per operation and generation mode (``operation_seed``), never ``derandomize=True``:
   that seeds from a digest of the test function's source, so editing the engine would change requests.
4. schemathesis adds ``X-Schemathesis-TestCaseId`` from a process-global random generator: never sent.
5. schemathesis collects a response's failures in a set whose order differs per process: sorted
   (``conformance.checks.openapi.failures_of``).
6. The shrinker's only time-dependent limit is Hypothesis' wall-clock cap; it is raised far above any
   real shrink (``MAX_SHRINKING_SECONDS``) so that the request budgets, which are counts, always bind first.

The pins in pyproject.toml (schemathesis, hypothesis, jsonschema-rs) are part of it: upgrading any of them
changes generated requests, so it means re-recording the fuzz cassettes (a replay says so).
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from typing import Any

LIBRARIES = ("schemathesis", "hypothesis", "jsonschema-rs")
MAX_SHRINKING_SECONDS = 900


def library_versions() -> dict[str, str]:
    """The installed versions of the libraries generation depends on."""
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def freeze_hypothesis() -> None:
    """Apply fixes 1 and 6 (process-wide; harmless to the rest of the suite, which does not use Hypothesis)."""
    import hypothesis.internal.conjecture.engine as engine
    import hypothesis.internal.conjecture.providers as providers

    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    engine.MAX_SHRINKING_SECONDS = MAX_SHRINKING_SECONDS


def operation_seed(seed: int, operation: str, mode: str) -> int:
    """The Hypothesis seed of one operation and generation mode in a run seeded ``seed``."""
    digest = hashlib.blake2b(f"{seed}:{operation}:{mode}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def hypothesis_settings(examples: int, shrink: bool) -> Any:
    """Settings of one generation pass: ``examples`` inputs, no database, no deadline, quiet; shrinking only
    in a shrink pass."""
    from hypothesis import HealthCheck, Phase, Verbosity, settings

    return settings(max_examples=examples, database=None, derandomize=False, deadline=None,
                    phases=[Phase.generate, Phase.shrink] if shrink else [Phase.generate],
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
                    verbosity=Verbosity.quiet, print_blob=False)
