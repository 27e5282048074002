"""The audit's cassette loader: every body encoding real projects write decodes to the same answer."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
import yaml

from conformance.transport.recordings import CassetteError, decode_body, find_cassettes, load_cassette
from support.cassettes import STYLES, interaction, write_cassette

# Minimal bodies built here (not recorded data): the loader only has to give them back unchanged.
JSON_BODY = {"id": "chatcmpl-test", "object": "chat.completion", "choices": [], "note": "caf\u00e9 \u2014 ok"}
SSE_BODY = 'data: {"id":"chatcmpl-test","object":"chat.completion.chunk","choices":[]}\n\ndata: [DONE]\n\n'
REQUEST = {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}
URL = "https://api.openai.com/v1/chat/completions"


def _write(tmp_path, interactions, name="c.yaml"):
    return write_cassette(tmp_path / name, interactions)


@pytest.mark.parametrize("style", STYLES)
def test_every_body_style_decodes_to_the_same_answer(tmp_path, style):
    path = _write(tmp_path, [
        interaction("POST", URL, REQUEST, 200, "application/json", JSON_BODY, style=style),
        interaction("POST", URL, REQUEST, 200, "text/event-stream; charset=utf-8", SSE_BODY, style=style),
    ])
    first, second = load_cassette(path)
    assert first.problem is None and second.problem is None
    assert first.exchange.json == JSON_BODY
    assert first.exchange.request_body == REQUEST
    assert second.exchange.text == SSE_BODY
    assert [e.is_done for e in second.exchange.events] == [False, True]
    assert (first.index, second.index) == (0, 1)


def test_a_parsed_body_is_not_parsed_again(tmp_path):
    path = _write(tmp_path, [interaction("POST", URL, REQUEST, 200, "application/json", JSON_BODY, style="parsed")])
    (recorded,) = load_cassette(path)
    assert recorded.exchange.__dict__["json"] is not None  # seeded from the YAML mapping
    assert json.loads(recorded.exchange.text) == JSON_BODY  # and the text is still there for excerpts


def test_gzipped_cassette_file(tmp_path):
    answer = interaction("POST", URL, REQUEST, 200, "application/json", JSON_BODY)
    path = write_cassette(tmp_path / "c.yaml.gz", [answer])
    assert path.read_bytes()[:2] == b"\x1f\x8b"
    (recorded,) = load_cassette(path)
    assert recorded.exchange.json == JSON_BODY


def test_generated_files_are_labelled(tmp_path):
    path = _write(tmp_path, [interaction("GET", URL, None, 200, "application/json", JSON_BODY)])
    assert path.read_text().startswith("# Generated from third-party data")


@pytest.mark.parametrize("stored", [None, {"string": None}, {"string": ""}, {}])
def test_missing_or_null_body_is_reported_not_crashed_on(tmp_path, stored):
    raw = interaction("POST", URL, REQUEST, 200, "application/json", JSON_BODY)
    if stored is None:
        del raw["response"]["body"]
    else:
        raw["response"]["body"] = stored
    (recorded,) = load_cassette(_write(tmp_path, [raw]))
    assert recorded.problem and ("no body" in recorded.problem or "empty" in recorded.problem)


def test_stale_content_encoding_header_over_decoded_text(tmp_path):
    raw = interaction("POST", URL, REQUEST, 200, "application/json", JSON_BODY)
    raw["response"]["headers"]["Content-Encoding"] = ["gzip"]  # the recorder decoded the body, kept the header
    (recorded,) = load_cassette(_write(tmp_path, [raw]))
    assert recorded.problem is None and recorded.exchange.json == JSON_BODY


def test_undecodable_compressed_body_is_a_problem(tmp_path):
    raw = interaction("POST", URL, REQUEST, 200, "application/json", JSON_BODY)
    raw["response"]["headers"]["Content-Encoding"] = ["br"]
    raw["response"]["body"] = {"string": b"\xff\xfe not brotli \x00\x01"}
    (recorded,) = load_cassette(_write(tmp_path, [raw]))
    assert recorded.problem and "br" in recorded.problem


def test_gzip_bytes_without_header_are_detected(tmp_path):
    raw = interaction("POST", URL, REQUEST, 200, "application/json", JSON_BODY)
    raw["response"]["body"] = {"string": gzip.compress(json.dumps(JSON_BODY).encode())}
    (recorded,) = load_cassette(_write(tmp_path, [raw]))
    assert recorded.exchange.json == JSON_BODY


def test_plain_text_that_happens_to_be_base64_stays_text(tmp_path):
    raw = interaction("POST", URL, REQUEST, 500, "text/plain", "Unauthorized")
    (recorded,) = load_cassette(_write(tmp_path, [raw]))
    assert recorded.problem is None and recorded.exchange.text == "Unauthorized"


def test_ruby_vcr_layout(tmp_path):
    document = {"http_interactions": [{
        "request": {"method": "post", "uri": URL, "body": {"encoding": "UTF-8", "string": json.dumps(REQUEST)}},
        "response": {"status": {"code": 200, "message": "OK"},
                     "headers": {"Content-Type": ["application/json"]},
                     "body": {"encoding": "ASCII-8BIT", "base64_string": base64.b64encode(
                         json.dumps(JSON_BODY).encode()).decode()}},
        "recorded_at": "Tue, 01 Apr 2025 10:00:00 GMT",
    }], "recorded_with": "VCR 6"}
    path = tmp_path / "ruby.yml"
    path.write_text(yaml.safe_dump(document))
    (recorded,) = load_cassette(path)
    assert recorded.exchange.method == "POST" and recorded.exchange.json == JSON_BODY
    assert recorded.exchange.request_body == REQUEST and recorded.date.startswith("Tue, 01 Apr 2025")


def test_missing_content_type_is_sniffed(tmp_path):
    raw = interaction("POST", URL, REQUEST, 200, None, SSE_BODY)
    (recorded,) = load_cassette(_write(tmp_path, [raw]))
    assert recorded.exchange.is_sse


def test_not_a_cassette_and_invalid_yaml(tmp_path):
    (tmp_path / "config.yaml").write_text("key: value\n")
    (tmp_path / "broken.yaml").write_text("interactions: [\n")
    with pytest.raises(CassetteError, match="not a cassette"):
        load_cassette(tmp_path / "config.yaml")
    with pytest.raises(CassetteError, match="invalid YAML"):
        load_cassette(tmp_path / "broken.yaml")


def test_find_cassettes(tmp_path):
    _write(tmp_path, [], "a/one.yaml")
    _write(tmp_path, [], "a/b/two.yml.gz")
    (tmp_path / "a" / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    files, errors = find_cassettes([str(tmp_path / "a"), str(tmp_path / "a" / "one.yaml"), str(tmp_path / "nope"),
                                    str(tmp_path / "empty")])
    assert [f.name for f in files] == ["two.yml.gz", "one.yaml"]  # sorted, without duplicates
    assert [e["path"] for e in errors] == [str(tmp_path / "nope"), str(tmp_path / "empty")]


def test_decode_body_of_base64_gzip_string():
    packed = base64.b64encode(gzip.compress(b'{"a": 1}')).decode()
    assert decode_body(packed, {"content-encoding": "gzip"}) == ('{"a": 1}', None, None)
