"""What a run will do: which targets, and one RunSpec per target x case x API x stream mode.

Kept apart from the pytest plugin so the plan can be built and tested without pytest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.cases.model import Case
from conformance.cases.targets import Target, TargetError, adhoc_target
from conformance.transport.vcr import cassette_path


@dataclass
class RunSpec:
    """One item of a run: a case on an API against a target, streamed or not, and its cassette."""

    target: Target
    case: Case
    api: str
    stream: bool
    cassette: Path

    @property
    def id(self) -> str:
        return f"{self.target.name}/{self.case.capability}/{self.case.id}.{self.api}" + (".stream" if self.stream else "")


def choose_targets(known: dict[str, Target], names: list[str], *, base_url: str | None = None,
                   model: str | None = None, api_key_env: str | None = None, profile: str | None = None,
                   replay: bool, cassettes: Path) -> list[Target]:
    """The targets named (and an ad-hoc ``--base-url`` one); in replay with none named, every recorded target."""
    chosen = []
    for name in names:
        if name not in known:
            raise TargetError(f"unknown target {name!r}; known: {', '.join(sorted(known))}")
        chosen.append(known[name])
    if base_url:
        chosen.append(adhoc_target(base_url, model, api_key_env, profile or "compat"))
    if not chosen:
        if not replay:
            raise TargetError("live runs and recording need --target NAME or --base-url URL")
        chosen = [target for name, target in sorted(known.items()) if (cassettes / name).is_dir()]
    return chosen


def plan(cases: list[Case], targets: list[Target], cassettes: Path, *, capabilities: set[str] | None = None,
         api: str | None = None) -> list[RunSpec]:
    """Every item to run, in a stable order."""
    specs = []
    for target in targets:
        for case in cases:
            if capabilities and case.capability not in capabilities:
                continue
            for case_api in case.apis:
                if api and case_api != api:
                    continue
                for stream in case.stream_modes():
                    path = cassette_path(cassettes, target.name, case.capability, case.id, case_api, stream)
                    specs.append(RunSpec(target, case, case_api, stream, path))
    return specs
