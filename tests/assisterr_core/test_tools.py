"""Tool and JSON instructions: rendering, tool choices, forgiving parsing, and the local server
playing them."""

from __future__ import annotations

import json

import pytest

from assisterr_core import InvalidRequestError
from assisterr_core.chat import (
    ToolSpec,
    json_instructions,
    parse_json_answer,
    parse_tool_reply,
    render_tool_calls,
    schema_problem,
    tool_choice_name,
    tool_instructions,
)
from assisterr_core.chat.prompt import ChatTurn, render_query
from assisterr_emulator.play.tool_player import instance_of, play

ADD = ToolSpec("add", "Add two integers.", {
    "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
    "required": ["a", "b"]})
WEATHER = ToolSpec("get_weather", "Get the weather at a location.", {
    "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]})
TOOLS = [ADD, WEATHER]


@pytest.mark.parametrize(
    "reply",
    [
        '{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}',
        'Sure.\n```json\n{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}\n```',
        'I will call it: {"name": "add", "args": {"a": 1, "b": 2}} now',
        '[{"name": "add", "parameters": {"a": 1, "b": 2}}]',
        '{"tool_calls": [{"name": "add", "arguments": "{\\"a\\": 1, \\"b\\": 2}"}]}',
        '{"tool_calls": [{"type": "function", "function": {"name": "add", '
        '"arguments": "{\\"a\\": 1, \\"b\\": 2}"}}]}',
    ],
)
def test_forgiving_parse(reply: str) -> None:
    parsed = parse_tool_reply(reply, TOOLS)
    assert [(c.name, c.arguments) for c in parsed.calls] == [("add", {"a": 1, "b": 2})]
    assert parsed.invalid == []
    assert parsed.calls[0].id.startswith("call_")


def test_prose_around_a_call_is_kept() -> None:
    parsed = parse_tool_reply('Let me check. {"name": "add", "args": {"a": 1, "b": 2}} Done.',
                              TOOLS)
    assert parsed.text == "Let me check. Done."


def test_two_calls_unknown_tool_and_bad_arguments() -> None:
    reply = json.dumps({"tool_calls": [
        {"name": "add", "arguments": {"a": 1, "b": 2}},
        {"name": "get_weather", "arguments": {"location": "Paris"}},
        {"name": "launch_rocket", "arguments": {}},
        {"name": "add", "arguments": {"a": "one", "b": 2}},
        {"name": "add", "arguments": {"a": 1}},
        {"name": "add", "arguments": "not json"},
        {"arguments": {}},
    ]})
    parsed = parse_tool_reply(reply, TOOLS)
    assert [c.name for c in parsed.calls] == ["add", "get_weather"]
    errors = [(i.name, i.error) for i in parsed.invalid]
    unknown = "unknown tool 'launch_rocket'; available: add, get_weather"
    assert errors[0] == ("launch_rocket", unknown)
    assert errors[1] == ("add", "argument 'a' should be integer")
    assert errors[2] == ("add", "missing required argument(s): b")
    assert errors[3] == ("add", "arguments of 'add' are not a JSON object")
    assert errors[4] == (None, "the call has no tool name")
    assert len({c.id for c in parsed.calls} | {i.id for i in parsed.invalid}) == 7


@pytest.mark.parametrize("reply", ["The answer is 3.", "", "{broken json", '{"result": 3}'])
def test_no_call_at_all(reply: str) -> None:
    parsed = parse_tool_reply(reply, TOOLS)
    assert (parsed.text, parsed.calls, parsed.invalid) == (reply.strip(), [], [])


def test_schema_problem_booleans_are_not_integers() -> None:
    assert schema_problem({"a": True, "b": 1}, ADD.parameters) == "argument 'a' should be integer"
    assert schema_problem({"a": 1, "b": 2}, ADD.parameters) is None


def test_json_answer() -> None:
    assert parse_json_answer('Here:\n```json\n{"a": 1}\n```') == {"a": 1}
    assert parse_json_answer('prose {"a": [1, 2]} more') == {"a": [1, 2]}
    with pytest.raises(ValueError, match="no JSON value"):
        parse_json_answer("nothing here")


def test_json_answer_skips_candidates_the_caller_refuses() -> None:
    def person(value: object) -> dict[str, object]:
        if not isinstance(value, dict):
            raise TypeError("not an object")
        return value

    assert parse_json_answer('Sure [1]: {"name": "Bob"}', person) == {"name": "Bob"}
    with pytest.raises(ValueError, match="not an object"):
        parse_json_answer("only [1] here", person)


def test_calls_from_several_objects_are_all_kept() -> None:
    reply = ('{"tool_calls": [{"name": "get_weather", "arguments": {"location": "Paris"}}]}\n'
             'and {"tool_calls": [{"name": "get_weather", "arguments": {"location": "Rome"}}]}')
    parsed = parse_tool_reply(reply, TOOLS)
    assert [c.arguments["location"] for c in parsed.calls] == ["Paris", "Rome"]
    assert parsed.text == "and"


def test_boolean_property_schemas_do_not_crash() -> None:
    schema = {"type": "object", "properties": {"x": True, "y": False}, "required": ["x"]}
    assert schema_problem({"x": 1}, schema) is None
    tool = ToolSpec("f", "", schema)
    assert parse_tool_reply('{"name": "f", "arguments": {"x": 1}}', [tool]).calls


def test_instructions_name_the_choice() -> None:
    assert "Call a tool when it helps" in tool_instructions(TOOLS)
    assert "must call at least one" in tool_instructions(TOOLS, "any")
    assert 'must call the tool "add"' in tool_instructions(TOOLS, "add")
    custom = tool_instructions(TOOLS, template="TOOLS:\n{tools}\n{choice}")
    assert custom.startswith("TOOLS:\n- add: Add two integers.")
    assert json.loads(json_instructions({"type": "object"}).splitlines()[1]) == {"type": "object"}


def test_multi_line_descriptions_stay_one_listing_item() -> None:
    tool = ToolSpec("greet", "Greet someone.\n\n    Args:\n        name: who", ADD.parameters)
    text = tool_instructions([tool])
    assert "- greet: Greet someone. Args: name: who\n  arguments (JSON schema):" in text
    reply = play(text + "\n\nPlease greet 1 2", "h")
    assert parse_tool_reply(reply or "", [tool]).calls[0].name == "greet"


def test_earlier_calls_round_trip_through_the_instructions() -> None:
    text = render_tool_calls([{"name": "add", "args": {"a": 1, "b": 2}, "id": "x"}])
    assert [c.arguments for c in parse_tool_reply(text, TOOLS).calls] == [{"a": 1, "b": 2}]


class TestToolPlayer:
    def ask(self, *turns: ChatTurn | tuple[str, str], choice: str | None = None) -> str | None:
        system = ("system", tool_instructions(TOOLS, choice))
        return play(render_query([system, *turns]), "h")

    def test_calls_the_matching_tool_with_arguments_from_the_message(self) -> None:
        reply = self.ask(("user", "Please add 4 and 5"))
        assert parse_tool_reply(reply or "", TOOLS).calls[0].arguments == {"a": 4, "b": 5}
        reply = self.ask(("user", "What's the weather in 'Oslo'?"))
        call = parse_tool_reply(reply or "", TOOLS).calls[0]
        assert (call.name, call.arguments) == ("get_weather", {"location": "Oslo"})

    def test_answers_from_tool_results(self) -> None:
        call = render_tool_calls([{"name": "add", "args": {"a": 1, "b": 2}}])
        reply = self.ask(("user", "add 1 and 2"), ("assistant", call),
                         ChatTurn("tool", "3", name="add"))
        assert reply == "Hello from h! The tool returned: 3"

    def test_answers_tool_results_sent_without_the_question(self) -> None:
        # a server-side session holds the question: only the results follow the instructions
        reply = self.ask(ChatTurn("tool", "3", name="add"))
        assert reply == "Hello from h! The tool returned: 3"

    def test_tool_choice(self) -> None:
        assert self.ask(("user", "Hello!")) is None  # no tool fits: the default reply answers
        forced = parse_tool_reply(self.ask(("user", "Hello!"), choice="any") or "", TOOLS)
        assert forced.calls[0].name == "add"
        named = parse_tool_reply(self.ask(("user", "add 1 2"), choice="get_weather") or "", TOOLS)
        assert named.calls[0].name == "get_weather"

    def test_no_instructions_no_play(self) -> None:
        assert play("just a question", "h") is None

    def test_schema_instances(self) -> None:
        schema = {"type": "object", "properties": {
            "name": {"type": "string"}, "age": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "pet": {"$ref": "#/$defs/Pet"}, "ok": {"type": "boolean"}},
            "$defs": {"Pet": {"type": "object", "properties": {"kind": {"enum": ["cat", "dog"]}}}}}
        value = instance_of(schema, "I am 'Ann', 31 years old")
        assert value == {"name": "Ann", "age": 31}  # optional fields the message leaves open


NAMES = ["add", "get_weather"]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [(None, "auto"), ("auto", "auto"), (False, "auto"), ("any", "any"), ("required", "any"),
     ("none", "none"), ("add", "add"), ({"type": "function", "function": {"name": "add"}}, "add"),
     ({"type": "tool", "name": "add"}, "add"), ({"type": "any"}, "any"), (True, "any")],
)
def test_tool_choice_name(choice: object, expected: str) -> None:
    assert tool_choice_name(choice, NAMES) == expected


def test_true_picks_the_only_tool_and_unknown_names_fail() -> None:
    assert tool_choice_name(True, ["add"]) == "add"
    with pytest.raises(InvalidRequestError, match="names no offered tool"):
        tool_choice_name("multiply", NAMES)


def test_a_required_call_turns_auto_into_any_but_keeps_a_named_tool() -> None:
    assert [tool_choice_name(choice, NAMES, required=True)
            for choice in (None, "auto", "add", "none")] == ["any", "any", "add", "none"]


def test_openai_shaped_tools_become_specs_and_need_a_name() -> None:
    spec = ToolSpec.from_openai({"type": "function", "function": {"name": "ping"}})
    assert spec == ToolSpec("ping", "", {"type": "object", "properties": {}})
    assert ToolSpec.from_openai({"name": "add", "description": "Add.", "parameters": {"a": 1}}) \
        == ToolSpec("add", "Add.", {"a": 1})
    with pytest.raises(InvalidRequestError, match="tools: a tool needs a name"):
        ToolSpec.from_openai({"type": "function", "function": {"description": "nameless"}})
