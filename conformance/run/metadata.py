"""The metadata of a run written at the top of ``results.json``: which suite, how it ran, against what."""

from __future__ import annotations

import platform
import subprocess
import uuid
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance.cases.targets import Target

PACKAGE_DIR = Path(__file__).resolve().parents[1]


def suite_version() -> str | None:
    """The installed conformance package's version."""
    try:
        return version("conformance")
    except PackageNotFoundError:
        return None


def suite_commit() -> str | None:
    """The git commit the suite runs from, when it runs from a checkout (None for an installed wheel)."""
    try:
        found = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PACKAGE_DIR, capture_output=True, text=True,
                               timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    commit = found.stdout.strip()
    return commit if found.returncode == 0 and len(commit) >= 40 else None


def target_metadata(target: Target) -> dict[str, Any]:
    """What a results file says about a target (its key stays out: only the variable's name is in Target)."""
    return {"name": target.name, "host": urlsplit(target.base_url).netloc.rpartition("@")[2] or None,
            "models": dict(target.models), "profile": target.profile, "scripted": target.scripted,
            "deterministic": target.deterministic, "lacks": dict(target.lacks)}


def mode_of(live: bool, replay: bool) -> str:
    """``live`` (no cassettes), ``replay`` (cassettes only) or ``record``."""
    return "live" if live else "replay" if replay else "record"


def run_metadata(*, targets: list[Target], live: bool, replay: bool, record_mode: str | None,
                 client: str = "raw", sdk_version: str | None = None, profile: str | None = None,
                 cassettes: Path | None = None) -> dict[str, Any]:
    """The ``run`` object of a results file (``specs/results.schema.json``)."""
    described = [target_metadata(t) for t in targets]
    if profile:
        for target in described:
            target["profile"] = profile
    return {
        "id": uuid.uuid4().hex[:12],
        "suite_version": suite_version(),
        "commit": suite_commit(),
        "mode": mode_of(live, replay),
        "record_mode": None if live else record_mode,
        "client": {"name": client, "sdk_version": sdk_version},
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "targets": described,
        "cassettes": None if live or cassettes is None else str(cassettes),
    }
