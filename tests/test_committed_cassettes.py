"""Sanity of the committed cassettes: no secrets, only API calls, readable bodies, a recording per replayed case."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from conformance.api.endpoints import api_of

CASSETTES = sorted((Path(__file__).resolve().parents[1] / "cassettes").rglob("*.yaml"))
SECRET = re.compile(r"sk-[A-Za-z0-9_-]{16,}|Bearer [A-Za-z0-9._-]{12,}|org-[A-Za-z0-9]{12,}|proj_[A-Za-z0-9]{12,}|sess-")
SECRET_HEADERS = {"authorization", "api-key", "cookie", "set-cookie", "openai-organization", "openai-project"}


def test_there_are_recordings_for_three_real_targets() -> None:
    assert {p.relative_to(p.parents[2]).parts[0] for p in CASSETTES} >= {"aimock", "llama-server", "litellm"}


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_cassette_is_clean(path: Path) -> None:
    text = path.read_text()
    assert not SECRET.search(text), "a key or account id in a cassette"
    data = yaml.load(text, Loader=yaml.CSafeLoader)
    assert data["interactions"], "an empty cassette"
    for interaction in data["interactions"]:
        request, response = interaction["request"], interaction["response"]
        assert api_of(urlsplit(request["uri"]).path), f"not an API call: {request['uri']}"
        headers = {k.lower() for k in request["headers"]} | {k.lower() for k in response["headers"]}
        assert not headers & SECRET_HEADERS
        assert not any(h.startswith("x-stainless-") for h in headers)
