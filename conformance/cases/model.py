"""The loaded form of a capability case: per API, its steps (requests) and its expectations (named checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from conformance.api.endpoints import APIS


@dataclass
class Step:
    """One request of a case. ``path`` is relative to the target's base URL (``/responses/${create.id}``)."""

    name: str
    method: str = "POST"
    path: str = ""
    body: dict[str, Any] | None = None
    raw: str | None = None  # a body sent verbatim (malformed JSON cases)
    headers: dict[str, str] = field(default_factory=dict)
    expect_status: Any = "2xx"
    poll: dict[str, Any] | None = None
    breaks: list[str] = field(default_factory=list)  # JSON pointers where the body breaks the schema on purpose
    upload: dict[str, Any] | None = None  # a multipart file upload: {asset, filename, field, content_type, fields}
    cleanup: bool = False  # runs after the others whatever happened (deletes what the case created); not judged


@dataclass
class Expectation:
    """A named check and its parameters."""

    check: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Case:
    """One capability case: the same behaviour asked of each API it names."""

    capability: str
    id: str
    description: str
    claim: dict[str, dict[str, str]]
    steps: dict[str, list[Step]]  # per API
    expect: dict[str, list[Expectation]]  # per API (common ones included)
    requires: list[str] = field(default_factory=list)
    stream: Any = False
    source: str = ""  # file:line of the case, for reports

    @property
    def apis(self) -> list[str]:
        """The APIs the case runs on, in the model's order."""
        return [api for api in APIS if api in self.steps]

    def stream_modes(self) -> list[bool]:
        """False, True or both: the stream modes the case runs in."""
        return {False: [False], True: [True], "both": [False, True]}[self.stream]


@dataclass
class CaseFileError:
    """A case file that cannot be used, with where and why."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"
