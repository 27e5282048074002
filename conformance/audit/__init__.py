"""``conformance audit``: judge recorded traffic (vcrpy cassettes) with the suite's own checks.

Modules: ``cassettes`` (find and decode cassette files), ``judge`` (run the named
checks on one interaction and give it a verdict), ``history`` (fields and events
that appeared over time: what makes a finding ``stale`` instead of ``fail``),
``openapi`` (optional validation against an OpenAPI document), ``report`` (the
JSON report and the terminal summary), ``main`` (the command line).
"""
