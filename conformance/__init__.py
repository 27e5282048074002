"""conformance: contract tests for OpenAI's Chat Completions and Responses APIs.

Layers, each a module: cases (YAML) -> requests per API -> transport (live, record, replay)
-> exchanges and observations -> named checks -> verdicts -> reports.
"""

__version__ = "0.1.0"
