"""Deeply nested JSON, from a server or from the caller, never escapes as a ``RecursionError``.

Each parser a call runs refuses it with a typed error (an error body still gives its status
error, with a readable excerpt); the tool and JSON readers skip a candidate that is too deep
like any unusable JSON. Then one contract test per client and one through an adapter. What a
caller gives (earlier calls' arguments, tool and answer schemas) and would be written as JSON
into the query is refused with an ``InvalidRequestError`` before anything is sent.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from langchain_core.tools import tool

from assisterr_core import (
    AssisterrClient,
    AsyncAssisterrClient,
    BadRequestError,
    InvalidRequestError,
    MalformedResponseError,
    StreamDecoder,
    StreamErrorEvent,
)
from assisterr_core.chat import (
    ToolSpec,
    json_instructions,
    json_values,
    parse_json_answer,
    parse_tool_reply,
    render_tool_calls,
    tool_instructions,
)
from assisterr_core.transport.endpoints import chat_call, decode_json_body
from assisterr_core.transport.errors import status_error
from assisterr_core.transport.records import (
    parse_chat_reply,
    parse_history,
    parse_session_id,
    parse_session_list,
)
from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr

from ._adapters import HANDLE, chat_model

DEEP = "[" * 100_000 + "]" * 100_000
DEEP_900 = "[" * 900 + "]" * 900
ADD = ToolSpec("add", "Add two integers.", {
    "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}})
CALL = '{"name": "add", "arguments": {"a": 1, "b": 2}}'


def nested(depth: int) -> Any:
    """A Python value ``depth`` lists deep, built without recursion."""
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


def decode_stream(body: str, content_type: str | None = None, piece: int = 4096) -> list[str]:
    decoder = StreamDecoder(content_type)
    data = body.encode()
    out: list[str] = []
    for start in range(0, len(data), piece):
        out += decoder.feed(data[start : start + piece])
    return out + decoder.close()


def test_deep_reply_body_is_malformed() -> None:
    spec = chat_call(HANDLE, "hi", None).spec
    for body in (DEEP, '{"message": ' + DEEP_900 + "}"):
        with pytest.raises(MalformedResponseError, match="nested more than"):
            decode_json_body(body.encode(), spec)


def test_deep_error_body_gives_the_status_error_with_an_excerpt() -> None:
    for body in (DEEP, '{"detail": ' + DEEP_900 + "}"):
        error = status_error(400, body, method="POST", path="/x/")
        assert isinstance(error, BadRequestError)
        assert error.detail == " ".join(body.split())[:499] + "…"
        assert "HTTP 400 for POST /x/: " + body[:40] in str(error)


def test_deep_stream_events_are_malformed() -> None:
    bodies = {
        "bare JSON": (DEEP, None),
        "bare JSON, deep inside a message": ('{"message": ' + DEEP_900 + "}", None),
        "SSE JSON data": (f"data: {DEEP}\n\n", None),
        "SSE data, deep inside a message": ('data: {"message": ' + DEEP_900 + "}\n\n", None),
        "NDJSON by content type": ('{"message": "a"}\n' + DEEP, "application/x-ndjson"),
    }
    for name, (body, content_type) in bodies.items():
        with pytest.raises(MalformedResponseError, match="too deep") as caught:
            decode_stream(body, content_type)
        assert type(caught.value) is MalformedResponseError, name
    with pytest.raises(StreamErrorEvent, match=r"reported an error: \[\[\[\["):
        decode_stream(f"event: error\ndata: {DEEP}\n\n")


def test_a_deep_value_is_refused_before_all_of_it_arrived() -> None:
    decoder = StreamDecoder()
    with pytest.raises(MalformedResponseError, match="too deep"):
        for _ in range(1000):
            decoder.feed(b"[" * 100)  # never closed: refused from its nesting alone


def test_record_parsers_report_deep_values_with_a_short_preview() -> None:
    deep = nested(5000)  # deeper than plain repr can walk
    parsers = (parse_chat_reply, parse_session_id, parse_session_list, parse_history)
    for parse in parsers:
        for payload in (deep, {"message": deep, "_id": deep}, [deep]):
            with pytest.raises(MalformedResponseError) as caught:
                parse(payload)
            assert len(str(caught.value)) < 300


def test_tool_and_json_readers_skip_candidates_that_are_too_deep() -> None:
    assert json_values(DEEP) == []
    assert json_values(DEEP_900 + " [1]") == [[1]]  # nothing inside the deep value is read
    reply = parse_tool_reply(f"{DEEP} then {CALL}", [ADD])
    assert [(c.name, c.arguments) for c in reply.calls] == [("add", {"a": 1, "b": 2})]
    assert parse_json_answer(DEEP_900 + ' {"a": 1}') == {"a": 1}
    with pytest.raises(ValueError, match="no JSON value"):
        parse_json_answer(DEEP)
    arguments_as_text = json.dumps({"name": "add", "arguments": DEEP})
    [invalid] = parse_tool_reply(arguments_as_text, [ADD]).invalid
    assert "not a JSON object" in invalid.error


def test_nesting_up_to_the_limit_is_read() -> None:
    assert json_values("[" * 128 + "]" * 128) == [nested(127)]
    inside = "[" * 127 + "]" * 127  # 128 levels with the object around it
    assert decode_stream('{"message": "a", "meta": ' + inside + "}") == ["a"]
    with pytest.raises(MalformedResponseError, match="too deep"):
        decode_stream('{"message": "a", "meta": [' + inside + "]}")


@pytest.fixture(params=["sync", "async"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def call(kind: str, server: EmulatorServer, method: str, *args: Any) -> Any:
    """One client call; a stream is read whole."""
    options = {"api_key": server.api_key, "base_url": server.base_url, "max_retries": 0}
    if kind == "sync":
        with AssisterrClient(**options) as client:
            result = getattr(client, method)(*args)
            return "".join(result) if method == "stream" else result

    async def run() -> Any:
        async with AsyncAssisterrClient(**options) as client:
            if method == "stream":
                return "".join([delta async for delta in client.stream(*args)])
            return await getattr(client, method)(*args)

    return asyncio.run(run())


def test_deep_json_through_the_clients(kind: str, assisterr_emulator: EmulatorServer) -> None:
    server = assisterr_emulator
    message_900 = '{"message": ' + DEEP_900 + "}"
    cases: list[tuple[dict[str, Any], str, tuple[str, ...]]] = [
        ({"malformed": True, "body": DEEP}, "chat", (HANDLE, "hi")),
        ({"malformed": True, "body": message_900}, "chat", (HANDLE, "hi")),
        ({"malformed": True, "body": DEEP}, "list_sessions", (HANDLE,)),
        ({"malformed": True, "body": DEEP, "content_type": "text/event-stream"},
         "stream", (HANDLE, "hi")),
        ({"malformed": True, "body": "data: " + message_900 + "\n\n",
          "content_type": "text/event-stream"}, "stream", (HANDLE, "hi")),
    ]
    for fault, method, args in cases:
        server.inject(**fault)
        with pytest.raises(MalformedResponseError):
            call(kind, server, method, *args)
    server.inject(malformed=True, body=f"event: error\ndata: {DEEP}\n\n",
                  content_type="text/event-stream")
    with pytest.raises(StreamErrorEvent):
        call(kind, server, "stream", HANDLE, "hi")
    server.inject(status=400, body=DEEP)
    with pytest.raises(BadRequestError, match=r"HTTP 400 .*: \[\[\[\["):
        call(kind, server, "chat", HANDLE, "hi")


def test_a_deep_reply_does_not_break_tool_calling(assisterr_emulator: EmulatorServer) -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    assisterr_emulator.set_responder([DEEP, DEEP + " " + CALL])
    model = chat_model(model=HANDLE, api_key=assisterr_emulator.api_key,
                       base_url=assisterr_emulator.base_url).bind_tools([add])
    assert model.invoke("hi").tool_calls == []
    [call] = model.invoke("hi").tool_calls
    assert (call["name"], call["args"]) == ("add", {"a": 1, "b": 2})


# -- from the caller -------------------------------------------------------------------------


def nested_dicts(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_caller_values_too_deep_to_write_are_refused_naming_where() -> None:
    looped: dict[str, Any] = {}
    looped["self"] = looped
    refused = [
        (lambda: render_tool_calls([{"name": "f", "args": nested_dicts(5000)}], "messages[1]"),
         r"messages\[1\]: tool call arguments: nests deeper than 128 levels"),
        (lambda: render_tool_calls([{"name": "f", "args": DEEP}], "messages[1]"),
         r"messages\[1\]: tool call arguments: nests deeper than 128 levels"),
        (lambda: render_tool_calls([{"name": "f", "args": looped}]), "tool call arguments"),
        (lambda: tool_instructions([ToolSpec("f", "", nested_dicts(5000))]),
         "tools: f: nests deeper"),
        (lambda: json_instructions(nested_dicts(5000)), "schema: nests deeper"),
        (lambda: ToolSpec.from_openai({"function": nested_dicts(5000)}),
         "tools: a tool needs a name"),
    ]
    for build, message in refused:
        with pytest.raises(InvalidRequestError, match=message):
            build()
    at_the_limit = render_tool_calls([{"name": "f", "args": {"a": nested(126)}}])  # 128 levels
    assert json.loads(at_the_limit)["tool_calls"][0]["arguments"] == {"a": nested(126)}
    with pytest.raises(InvalidRequestError):
        render_tool_calls([{"name": "f", "args": {"a": nested(127)}}])
    assert json.loads(render_tool_calls([{"name": "f", "args": "not JSON"}])) == {
        "tool_calls": [{"name": "f", "arguments": "not JSON"}]}


def test_deep_caller_values_through_the_adapters_send_nothing(
    assisterr_emulator: EmulatorServer,
) -> None:
    """Earlier calls (valid or not) with deep arguments and a deep tool schema, through
    ChatAssisterr; deep arguments of an earlier call through Assisterr, as a ToolCallBlock
    and as another LLM's OpenAI-shaped dict."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from llama_index.core.base.llms.types import ChatMessage, ToolCallBlock

    options = {"api_key": assisterr_emulator.api_key, "base_url": assisterr_emulator.base_url}
    model = chat_model(model=HANDLE, **options)
    llm = Assisterr(model=HANDLE, **options)
    result = [ToolMessage("3", tool_call_id="1"), HumanMessage("go on")]
    deep_call = {"name": "f", "args": nested_dicts(5000), "id": "1"}
    deep_text_call = {"name": "f", "args": DEEP, "id": "1", "error": None,
                      "type": "invalid_tool_call"}
    deep_schema = {"type": "function",
                   "function": {"name": "f", "description": "d", "parameters": nested_dicts(5000)}}
    calls = [
        lambda: model.invoke([HumanMessage("hi"), AIMessage("", tool_calls=[deep_call]), *result]),
        lambda: model.invoke([HumanMessage("hi"),
                              AIMessage("", invalid_tool_calls=[deep_text_call]), *result]),
        lambda: model.bind_tools([deep_schema]).invoke("hi"),
        lambda: llm.chat([ChatMessage(role="assistant", blocks=[
            ToolCallBlock(tool_call_id="1", tool_name="f", tool_kwargs=nested_dicts(5000))]),
            ChatMessage(role="user", content="go on")]),
        lambda: llm.chat([ChatMessage(role="assistant", content="", additional_kwargs={
            "tool_calls": [{"id": "1", "type": "function",
                            "function": {"name": "f", "arguments": DEEP}}]}),
            ChatMessage(role="user", content="go on")]),
    ]
    for index, make_call in enumerate(calls):
        with pytest.raises(InvalidRequestError, match="nests deeper than 128 levels"):
            make_call()
        assert assisterr_emulator.requests == [], index


def test_a_reply_calling_with_deep_text_arguments_is_an_invalid_call(
    assisterr_emulator: EmulatorServer,
) -> None:
    """The model's call whose arguments are text holding JSON too deep to read: kept as
    written, as any call with unusable arguments is (LlamaIndex reads them back too)."""
    from llama_index.core.base.llms.types import ChatMessage

    reply = json.dumps({"tool_calls": [{"name": "add", "arguments": DEEP}]})
    assisterr_emulator.set_responder([reply])
    llm = Assisterr(model=HANDLE, api_key=assisterr_emulator.api_key,
                    base_url=assisterr_emulator.base_url)
    message = llm.chat([ChatMessage(role="user", content="add")], tools=[ADD]).message
    [refused] = message.additional_kwargs["invalid_tool_calls"]
    assert refused["arguments"] == DEEP and "not a JSON object" in refused["error"]
