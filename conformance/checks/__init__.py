"""Named checks. Importing this package registers every check in ``CHECKS``.

Modules by kind: ``http`` (status and error envelope), ``schema`` (JSON Schema of
bodies and events, per profile), ``shape`` (the documented shape differences),
``behaviour`` (probes of what the answer means), ``errors`` (the error envelope),
``cross_api`` (the same case on
both APIs), ``stream`` (stream grammar and reassembly).
"""

from conformance.checks.registry import CHECKS, CheckContext, check, implicit_checks, run_check
from conformance.checks import http, schema, shape, behaviour, errors, cross_api, stream  # noqa: E402,F401  (registers)

__all__ = ["CHECKS", "CheckContext", "check", "implicit_checks", "run_check"]
