"""The stream decoder under hypothesis, beyond the per-format properties of the core tests.

SSE streams here mix what real servers send around the data: comments, ``event:``,
``id:`` and ``retry:`` fields, keep-alive blocks, ``data:`` with and without a space, a
``[DONE]`` marker or none, and every line ending SSE allows (LF, CRLF, CR), mixed within
one stream. Truncated streams must decode to a prefix of the text or raise our error.
"""

from __future__ import annotations

import json

from hypothesis import assume, given
from hypothesis import strategies as st

from assisterr_core import MalformedResponseError, StreamDecoder

KEYS = ("message", "content", "delta", "text", "token")
text_delta = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1,
                     max_size=12)


def decode(body: bytes, splits: list[int], content_type: str | None = None) -> list[str]:
    decoder = StreamDecoder(content_type)
    cuts = sorted(set(splits))
    out: list[str] = []
    for start, end in zip([0, *cuts], [*cuts, len(body)], strict=True):
        out += decoder.feed(body[start:end])
    return out + decoder.close()


@st.composite
def sse_stream(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """A random but valid SSE body, and the deltas it carries."""
    deltas = draw(st.lists(text_delta, min_size=1, max_size=6))
    lines: list[str] = []
    for delta in deltas:
        if draw(st.booleans()):
            lines += [": keep-alive", ""]
        for field in draw(st.lists(st.sampled_from(
                [": ping", "event: message", "id: 7", "retry: 1000", ":"]), max_size=3)):
            lines.append(field)
        if draw(st.booleans()):
            payload = json.dumps({draw(st.sampled_from(KEYS)): delta},
                                 ensure_ascii=draw(st.booleans()))
        else:
            payload = json.dumps(delta, ensure_ascii=draw(st.booleans()))
        pieces = [payload]
        if payload.startswith("{") and draw(st.booleans()):
            pieces = ["{", payload[1:]]  # multi-line data: SSE joins the lines with "\n"
        lines += [("data: " if draw(st.booleans()) else "data:") + piece for piece in pieces]
        lines.append("")
    if draw(st.booleans()):
        lines += ["data: [DONE]", ""]
    if draw(st.booleans()):
        lines.pop()  # the last event may end with the body instead of a blank line
    body = ""
    previous = ""
    for line in lines:
        choices = ["\n", "\r\n", "\r"]
        if previous == "\r" and line == "":
            choices = ["\r\n", "\r"]  # a bare LF here would complete the CR as one CRLF
        ending = draw(st.sampled_from(choices))
        body += line + ending
        previous = ending
    return body.encode(), deltas


@given(stream=sse_stream(), data=st.data())
def test_mixed_sse_framings_decode_to_their_deltas(
    stream: tuple[bytes, list[str]], data: st.DataObject
) -> None:
    body, deltas = stream
    splits = data.draw(st.lists(st.integers(0, len(body)), max_size=16))
    assert decode(body, splits) == deltas
    for cut in range(1, len(body)):  # every single boundary: a CR|LF split, a UTF-8 split
        assert decode(body, [cut]) == deltas, cut


@st.composite
def json_stream(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    """Bare concatenated JSON or NDJSON, with random whitespace between values."""
    deltas = draw(st.lists(text_delta, min_size=1, max_size=6))
    parts = []
    for delta in deltas:
        value: object = delta if draw(st.booleans()) else {draw(st.sampled_from(KEYS)): delta}
        gap = draw(st.sampled_from(["", "\n", "\r\n", " ", "\n\n", "\t"]))
        parts.append(json.dumps(value, ensure_ascii=draw(st.booleans())) + gap)
    return "".join(parts).encode(), deltas


@given(stream=json_stream(), data=st.data())
def test_bare_json_with_random_gaps_decodes(
    stream: tuple[bytes, list[str]], data: st.DataObject
) -> None:
    body, deltas = stream
    splits = data.draw(st.lists(st.integers(0, len(body)), max_size=16))
    assert decode(body, splits) == deltas


@given(stream=json_stream(), data=st.data())
def test_truncated_json_stream_gives_a_prefix_or_our_error(
    stream: tuple[bytes, list[str]], data: st.DataObject
) -> None:
    body, deltas = stream
    cut = data.draw(st.integers(1, len(body) - 1))
    splits = data.draw(st.lists(st.integers(0, cut), max_size=8))
    try:
        decoded = decode(body[:cut], splits)
    except MalformedResponseError:
        return
    assert decoded == deltas[: len(decoded)]


@given(stream=sse_stream(), garbage=st.binary(min_size=1, max_size=40), data=st.data())
def test_garbage_spliced_into_a_valid_stream_raises_only_our_error(
    stream: tuple[bytes, list[str]], garbage: bytes, data: st.DataObject
) -> None:
    body, _ = stream
    at = data.draw(st.integers(0, len(body)))
    spliced = body[:at] + garbage + body[at:]
    splits = data.draw(st.lists(st.integers(0, len(spliced)), max_size=8))
    try:
        decoded = decode(spliced, splits)
    except MalformedResponseError:
        return
    assert all(isinstance(delta, str) for delta in decoded)


json_lookalike = st.one_of(
    st.sampled_from(["{}", "[]", '"hi"', '"', "[", "{", "[DONE] soon", "null", "42", "true"]),
    st.builds(json.dumps, st.one_of(text_delta, st.dictionaries(st.sampled_from(KEYS),
                                                                text_delta, max_size=2))),
)


@given(
    first=text_delta.filter(lambda t: t.strip() == t and t[:1] not in ('{', '[', '"', ":")),
    later=st.lists(st.one_of(json_lookalike, text_delta), max_size=6),
    data=st.data(),
)
def test_sse_text_data_is_never_reguessed(
    first: str, later: list[str], data: st.DataObject
) -> None:
    tokens = [t for t in [first, *later] if t.strip() == t and t and t != "[DONE]"]
    tokens = [t for t in tokens if "\r" not in t]  # a CR would end the data line
    assume(tokens and tokens[0] == first)
    body = "".join(
        "".join(f"data: {line}\n" for line in token.split("\n")) + "\n" for token in tokens
    ).encode()
    splits = data.draw(st.lists(st.integers(0, len(body)), max_size=8))
    assert decode(body, splits, "text/event-stream") == tokens
