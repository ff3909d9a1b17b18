"""The stream decoder, fed every framing the API might use, split at any byte."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assisterr_core import MalformedResponseError, StreamDecoder, StreamErrorEvent
from assisterr_core.stream_decoder import Framing


def decode(body: bytes, splits: list[int] | None = None) -> list[str]:
    decoder = StreamDecoder()
    cuts = sorted(set(splits or []))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    out: list[str] = []
    for piece in pieces:
        out += decoder.feed(piece)
    return out + decoder.close()


def frame(fmt: str, deltas: list[str]) -> bytes:
    """Encode deltas the way each known server framing would."""
    if fmt == "bare-json":
        return b"".join(json.dumps({"message": d}).encode() for d in deltas)
    if fmt == "ndjson":
        return b"".join(json.dumps({"content": d}).encode() + b"\n" for d in deltas)
    if fmt == "sse-json":
        events = [f"data: {json.dumps({'delta': d})}\n\n" for d in deltas]
        return ("".join(events) + "data: [DONE]\n\n").encode()
    if fmt == "sse-json-crlf":
        events = [f"event: message\r\ndata: {json.dumps({'text': d})}\r\n\r\n" for d in deltas]
        return (": keep-alive\r\n\r\n" + "".join(events)).encode()
    if fmt == "sse-json-string":
        return "".join(f"data: {json.dumps(d)}\n\n" for d in deltas).encode()
    if fmt == "sse-text":
        events = ["".join(f"data: {line}\n" for line in d.split("\n")) + "\n" for d in deltas]
        return "".join(events).encode()
    raise AssertionError(fmt)


FORMATS = ["bare-json", "ndjson", "sse-json", "sse-json-crlf", "sse-json-string", "sse-text"]
text_delta = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), min_size=1
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_framing_decodes_to_its_deltas(fmt: str) -> None:
    deltas = ["Hello", " wörld", " 👋", "\nnew line", " end"]
    assert decode(frame(fmt, deltas)) == deltas


@given(
    fmt=st.sampled_from(FORMATS),
    deltas=st.lists(text_delta, min_size=1, max_size=8),
    data=st.data(),
)
@settings(max_examples=300, deadline=None)
def test_random_splits_reproduce_the_text(fmt: str, deltas: list[str], data: st.DataObject) -> None:
    if fmt == "sse-text":  # plain-text SSE cannot carry blank-only deltas unambiguously
        deltas = [d for d in deltas if d.strip(" \n") == d and d.strip()] or ["x"]
    body = frame(fmt, deltas)
    splits = data.draw(st.lists(st.integers(0, len(body)), max_size=12))
    assert "".join(decode(body, splits)) == "".join(deltas)


@given(body=st.binary(max_size=200), data=st.data())
@settings(max_examples=300, deadline=None)
def test_garbage_raises_only_our_error(body: bytes, data: st.DataObject) -> None:
    splits = data.draw(st.lists(st.integers(0, len(body)), max_size=6))
    try:
        result = decode(body, splits)
    except MalformedResponseError:
        return
    assert all(isinstance(delta, str) for delta in result)


def test_utf8_character_split_between_reads() -> None:
    body = json.dumps({"message": "ü€😀"}, ensure_ascii=False).encode()
    for cut in range(len(body)):
        assert decode(body, [cut]) == ["ü€😀"]


def test_every_byte_on_its_own() -> None:
    body = frame("sse-json-crlf", ["a", "b c", "d"])
    assert decode(body, list(range(len(body)))) == ["a", "b c", "d"]


def test_sse_multiline_data_and_fields() -> None:
    body = b"id: 1\nretry: 100\nevent: message\ndata: line one\ndata: line two\n\n: note\n\n"
    assert decode(body) == ["line one\nline two"]


def test_done_marker_ends_the_stream() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(b"data: a\n\ndata: [DONE]\n\ndata: ignored\n\n") == ["a"]
    assert decoder.done
    assert decoder.feed(b"data: more\n\n") == []


def test_last_event_without_blank_line_is_kept() -> None:
    assert decode(b"data: one\n\ndata: two") == ["one", "two"]


def test_lone_cr_line_endings() -> None:
    assert decode(b"data: a\r\rdata: b\r\r", [7, 8]) == ["a", "b"]


def test_sse_json_payload_shapes() -> None:
    body = (
        b'data: {"token": {"text": "a"}}\n\n'
        b'data: {"choices": [{"delta": {"content": "b"}}]}\n\n'
        b'data: {"message": {"content": "c"}}\n\n'
        b'data: {"meta": 1}\n\n'
    )
    assert decode(body) == ["a", "b", "c"]


def test_bare_json_with_whitespace_and_strings() -> None:
    assert decode(b' {"message": "a"}\n\n"b" {"text": "c"}  ') == ["a", "b", "c"]


def test_plain_text_body_passes_through() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(b"da") == []  # could still be "data:"
    assert decoder.feed(b"rling ") == ["darling "]
    assert decoder.framing is Framing.TEXT
    assert decoder.close() == []


def test_truncated_json_stream_raises_after_earlier_deltas() -> None:
    decoder = StreamDecoder()
    assert decoder.feed(b'{"message": "kept"}{"message": "cu') == ["kept"]
    with pytest.raises(MalformedResponseError, match="inside a JSON value"):
        decoder.close()


def test_error_events_raise() -> None:
    with pytest.raises(StreamErrorEvent, match="overloaded"):
        decode(b'event: error\ndata: {"message": "overloaded"}\n\n')
    with pytest.raises(StreamErrorEvent, match="quota"):
        decode(b'{"message": "a"}{"error": "quota exceeded"}')


def test_invalid_utf8_raises() -> None:
    with pytest.raises(MalformedResponseError):
        decode(b'{"message": "\xff"}')


def test_text_after_json_raises() -> None:
    with pytest.raises(MalformedResponseError, match="unexpected text"):
        decode(b'{"message": "a"} oops')


@pytest.mark.parametrize("body", [b'{"message": 5}', b'data: {"message": true}\n\n'])
def test_non_text_under_a_text_key_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedResponseError, match="non-text"):
        decode(body)


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"meta": 1}{"meta": 2}', b'data: {"a": 1}\n\n'])
def test_json_events_without_any_text_are_malformed(body: bytes) -> None:
    with pytest.raises(MalformedResponseError, match="carried no text"):
        decode(body)


def test_empty_text_and_empty_bodies_are_empty_replies() -> None:
    assert decode(b'{"message": ""}') == []
    assert decode(b"") == []
    assert decode(b"data: [DONE]\n\n") == []
