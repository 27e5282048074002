"""Placeholder substitution in case requests."""

from __future__ import annotations

import pytest

from conformance.requests.placeholders import MissingResource, Unresolved, substitute, with_stream
from conformance.cases.targets import adhoc_target

TARGET = adhoc_target("http://127.0.0.1:1/v1", model="m1")


def test_model_and_step_values() -> None:
    results = {"call": {"output": [{"type": "reasoning"}, {"type": "function_call", "call_id": "call_1", "name": "f"}]}}
    body = {"model": "${model}", "item": "${call.output[type=function_call]}",
            "text": "id=${call.output[type=function_call].call_id}"}
    out = substitute(body, TARGET, results)
    assert out == {"model": "m1", "item": results["call"]["output"][1], "text": "id=call_1"}
    assert out["item"] is not results["call"]["output"][1]  # a copy: later edits never touch the answer


def test_unresolved_names_the_missing_piece() -> None:
    with pytest.raises(Unresolved, match="no item with type=function_call"):
        substitute("${call.output[type=function_call].call_id}", TARGET, {"call": {"output": []}})
    with pytest.raises(Unresolved, match="has not answered"):
        substitute("${first.id}", TARGET, {})


def test_missing_resource_is_a_config_error() -> None:
    with pytest.raises(MissingResource, match="vector_store_id"):
        substitute("${resource.vector_store_id}", TARGET, {})


def test_asset_becomes_data_url() -> None:
    assert substitute("${asset:red-square.png}", TARGET, {}).startswith("data:image/png;base64,iVBOR")


def test_stream_variant() -> None:
    assert with_stream({"a": 1}, "chat") == {"a": 1, "stream": True, "stream_options": {"include_usage": True}}
    assert with_stream({"a": 1}, "responses") == {"a": 1, "stream": True}
