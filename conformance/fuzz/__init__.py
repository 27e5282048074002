"""``conformance fuzz``: requests generated from an OpenAPI document by schemathesis, judged on every answer.

Modules: ``determinism`` (what makes a run a function of its seed), ``sending`` (the request budget, the
cache, curl reproducers), ``judging`` (schemathesis' checks and the suite's own on each answer), ``engine``
(coverage cases, seeded generation, shrinking), ``recording`` (cassettes and their settings),
``report`` (CaseResult rows for the matrix and ``reports/fuzz.json``), ``main`` (the command).
"""
