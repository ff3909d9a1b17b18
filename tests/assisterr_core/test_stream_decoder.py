"""The stream decoder, fed every framing the API might use, split at any byte.

Also: the framing and the kind of SSE data are decided once per stream (from the
Content-Type where it is specific), an empty body is no reply, and decoding is linear in
the size of an event however it is split.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from assisterr_core import MalformedResponseError, StreamDecoder, StreamErrorEvent
from assisterr_core.transport.stream_decoder import Framing


def decode(
    body: bytes, splits: list[int] | None = None, content_type: str | None = None
) -> list[str]:
    decoder = StreamDecoder(content_type)
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
def test_random_splits_reproduce_the_text(fmt: str, deltas: list[str], data: st.DataObject) -> None:
    if fmt == "sse-text":  # plain-text SSE cannot carry blank-only deltas unambiguously
        deltas = [d for d in deltas if d.strip(" \n") == d and d.strip()] or ["x"]
        if deltas[0][0] in '{["':  # a first event that is JSON makes a stream of JSON events
            deltas[0] = "x" + deltas[0]
    body = frame(fmt, deltas)
    splits = data.draw(st.lists(st.integers(0, len(body)), max_size=12))
    assert "".join(decode(body, splits)) == "".join(deltas)


@given(body=st.binary(max_size=200), data=st.data())
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


def test_an_end_marker_does_not_excuse_json_events_without_text() -> None:
    """``[DONE]`` after events the decoder found no text in is still a malformed stream,
    not a silent empty reply; ``[DONE]`` alone, or after an explicit empty text, is empty."""
    with pytest.raises(MalformedResponseError, match="carried no text"):
        decode(b'data: {"response": "Hello"}\n\ndata: [DONE]\n\n')
    assert decode(b'data: {"message": ""}\n\ndata: [DONE]\n\n') == []


def test_explicit_empty_replies_are_valid() -> None:
    assert decode(b'{"message": ""}') == []
    assert decode(b'data: {"message": ""}\n\n') == []
    assert decode(b"data: [DONE]\n\n") == []


def test_a_body_without_any_event_is_no_reply() -> None:
    for body in (b"", b"\n\r\n ", b": keep-alive\n\n", b"\xef\xbb\xbf", b"event: ping\n\n"):
        with pytest.raises(MalformedResponseError, match="without any event"):
            decode(body)
    with pytest.raises(MalformedResponseError, match="without any event"):
        decode(b"", content_type="text/plain")


# -- the framing and the kind of data, decided once ---------------------------------------


@given(text=st.text(min_size=1), data=st.data())
@example(text=":) sure", data=None)
@example(text="id: 42 is the answer", data=None)
@example(text='"quoted" words', data=None)
@example(text="[1] first", data=None)
@example(text='{"message": "not an event"}', data=None)
@example(text="data: not an event\n\n", data=None)
def test_plain_text_content_type_streams_the_text_as_it_is(
    text: str, data: st.DataObject | None
) -> None:
    body = text.encode()
    splits = data.draw(st.lists(st.integers(0, len(body)), max_size=6)) if data else []
    assert "".join(decode(body, splits, content_type="text/plain; charset=utf-8")) == text


def test_json_content_types_mean_bare_json() -> None:
    for content_type in ("application/json", "application/x-ndjson", "application/vnd.x+json"):
        decoder = StreamDecoder(content_type)
        assert decoder.framing is Framing.JSON
        assert decoder.feed(b'{"message": "a"}\n{"message": "b"}') == ["a", "b"]
        with pytest.raises(MalformedResponseError, match="unexpected text"):
            decoder.feed(b"\ndata: c\n\n")


def test_event_stream_content_type_still_detects_the_framing() -> None:
    event_stream = "text/event-stream; charset=utf-8"
    assert decode(b'{"message": "bare"}{"message": " json"}', [3], event_stream) == [
        "bare", " json"]
    assert decode(b"data: sse\n\n", [2], event_stream) == ["sse"]
    assert "".join(decode(b"just text", [2], event_stream)) == "just text"


def test_html_is_never_model_output() -> None:
    page = b"<!DOCTYPE html><html><body>Log in to the Wi-Fi</body></html>"
    decoder = StreamDecoder("text/html; charset=utf-8")
    with pytest.raises(MalformedResponseError, match="HTML"):
        decoder.feed(page)
    with pytest.raises(MalformedResponseError, match="HTML"):
        StreamDecoder("text/html").close()  # even with an empty body
    for content_type in (None, "text/event-stream", "application/octet-stream"):
        for cut in (0, 4, 10):
            with pytest.raises(MalformedResponseError, match="HTML"):
                decode(b"\n " + page, [cut], content_type)
    assert decode(b"<b>bold</b> claim", [2]) == ["<b>bold</b> claim"]  # text, not a page


def test_byte_order_mark_before_sse_keeps_the_first_event() -> None:
    body = "\ufeffdata: Hello\n\ndata:  world\n\n".encode()
    for cut in range(len(body)):
        assert decode(body, [cut]) == ["Hello", " world"], cut
    assert decode("\ufeff{\"message\": \"a\"}".encode(), [1]) == ["a"]


def test_sse_text_data_stays_text_once_the_first_event_is_text() -> None:
    body = b'data: Hello\n\ndata: {}\n\ndata: "hi"\n\ndata: [1]\n\ndata: {"message": "x"}\n\n'
    assert decode(body) == ["Hello", "{}", '"hi"', "[1]", '{"message": "x"}']


def test_sse_json_data_stays_json_once_the_first_event_is_json() -> None:
    assert decode(b'data: "a"\n\ndata: {"token": "b"}\n\n') == ["a", "b"]
    assert decode(b'data:\n\ndata: {"token": "b"}\n\n') == ["b"]  # a blank ping decides nothing
    with pytest.raises(MalformedResponseError, match="not JSON"):
        decode(b'data: {"message": "a"}\n\ndata: plain words\n\n')


def test_invalid_json_value_is_reported_without_waiting_for_the_end() -> None:
    decoder = StreamDecoder()
    with pytest.raises(MalformedResponseError, match="invalid JSON"):
        decoder.feed(b'{"message": "a",}{"message": "b"')


# -- cost: every character is looked at a bounded number of times -------------------------


class ScanCounter:
    """Counts the characters offered to the decoder's scanners (its regexes and JSON parsers).

    The decoder examines text only through module-level compiled patterns and the bounded
    JSON functions; wrapping them measures how often the same text is examined again.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import re

        from assisterr_core.transport import stream_decoder

        self.chars = 0
        for name, value in vars(stream_decoder).items():
            if isinstance(value, re.Pattern):
                monkeypatch.setattr(stream_decoder, name, _CountingPattern(value, self))
        for name in ("loads", "raw_decode"):
            if hasattr(stream_decoder, name):
                function = getattr(stream_decoder, name)
                monkeypatch.setattr(stream_decoder, name, self._counting(function))

    def _counting(self, function: Any) -> Any:
        def counted(text: str, pos: int = 0) -> Any:
            self.chars += len(text) - pos
            return function(text, pos) if pos else function(text)

        return counted


class _CountingPattern:
    def __init__(self, pattern: Any, counter: ScanCounter) -> None:
        self._pattern, self._counter = pattern, counter

    def _scan(self, method: str, text: str, pos: int = 0, endpos: int | None = None) -> Any:
        self._counter.chars += min(len(text), endpos or len(text)) - pos
        return getattr(self._pattern, method)(text, pos, endpos or len(text))

    def search(self, *args: Any) -> Any:
        return self._scan("search", *args)

    def match(self, *args: Any) -> Any:
        return self._scan("match", *args)

    def finditer(self, *args: Any) -> Any:
        return self._scan("finditer", *args)


def one_big_event(framing: str, size: int) -> bytes:
    text = "x" * size
    if framing == "sse":
        return b"data: " + json.dumps({"message": text}).encode() + b"\n\n"
    if framing == "sse-text":
        return f"data: {text}\n\n".encode()
    if framing == "json":
        return json.dumps({"message": text}).encode()
    return text.encode()


@pytest.mark.parametrize("framing", ["sse", "sse-text", "json", "text"])
def test_decoding_cost_grows_linearly_with_the_event(
    framing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = ScanCounter(monkeypatch)
    examined = []
    for size in (64 * 1024, 256 * 1024):
        body = one_big_event(framing, size)
        counter.chars = 0
        assert "".join(decode(body, list(range(0, len(body), 1024)))) == "x" * size
        examined.append(counter.chars)
        assert counter.chars <= 4 * len(body)  # each character a few times, not once per read
    assert examined[1] <= 4.5 * examined[0]  # four times the event: about four times the work
