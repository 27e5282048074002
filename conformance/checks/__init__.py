"""Layer 5: named checks. Importing this package registers every check in ``CHECKS``.

Modules by kind: ``http`` (status), ``schema`` (JSON Schema of bodies, per profile), ``shape``
(the documented shape differences), ``behaviour`` (probes of what the answer means), ``errors``
(the error envelope), ``outputs`` (built-in tool items, audio, refusals), ``cross_api`` (the same
case on both APIs), ``stream`` (stream grammar), ``parity`` (stream vs non-stream),
``request_shape`` (a request of one API's shape sent to the other), ``openapi`` (an OpenAPI
document's response schemas), ``sdk`` (what the openai SDK makes of an answer, SDK lane only),
``state`` (what a server keeps: input items, stored messages and lists, citations of uploaded files).
``findings`` holds what checks report.
"""

from conformance.checks.registry import CHECKS, CheckContext, check, implicit_checks, run_check
from conformance.checks import (  # noqa: E402,F401,I001  (importing registers the checks)
    http, schema, shape, behaviour, outputs, errors, cross_api, stream, parity, request_shape, sdk,
    state,
)

__all__ = ["CHECKS", "CheckContext", "check", "implicit_checks", "run_check"]
