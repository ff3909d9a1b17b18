"""The local server's model play: which tool it calls and what it fills in, read from the
question and the schemas alone."""

from __future__ import annotations

import json
from typing import Any

from assisterr_core.chat import (
    JSON_OBJECT_PROMPT,
    ToolSpec,
    json_instructions,
    parse_tool_reply,
    render_tool_calls,
    tool_instructions,
)
from assisterr_core.chat.prompt import ChatTurn, render_query
from assisterr_emulator.play.tool_player import choose_tool, instance_of, play
from assisterr_emulator.responders import ResponderRequest, default_responder


def _tool(name: str, description: str, required: bool = True, **properties: Any) -> ToolSpec:
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(properties)
    return ToolSpec(name, description, schema)


STRING, INTEGER, NUMBER = {"type": "string"}, {"type": "integer"}, {"type": "number"}
WEATHER = _tool("get_weather", "Get the current weather in a city.", city=STRING)
ADD = _tool("add", "Add two integers.", a=INTEGER, b=INTEGER)
MULTIPLY = _tool("multiply", "Multiply x by y.", x=NUMBER, y=NUMBER)
SEARCH = _tool("web_search", "Look things up on the web.", query=STRING)
EMAIL = _tool("send_message", "Send a note to someone.",
              recipient={"type": "string", "description": "who gets it"},
              subject=STRING)
TOOLS = [WEATHER, ADD, MULTIPLY, SEARCH, EMAIL]


def listed(*tools: ToolSpec) -> list[tuple[str, str, Any]]:
    return [(t.name, t.description, dict(t.parameters)) for t in tools]


def call_for(question: str, tools: list[ToolSpec] = TOOLS, choice: str | None = None,
             *turns: ChatTurn | tuple[str, str]) -> tuple[str, dict[str, Any]] | None:
    """The call the play makes when ``question`` follows the tool instructions."""
    query = render_query([("system", tool_instructions(tools, choice)), ("user", question),
                          *turns])
    reply = parse_tool_reply(play(query, "h") or "", tools)
    return (reply.calls[0].name, reply.calls[0].arguments) if reply.calls else None


def test_the_tool_whose_words_fit_the_question_is_called_with_its_values() -> None:
    assert call_for("What is the weather in Paris?") == ("get_weather", {"city": "Paris"})
    assert call_for("What is 2 plus 40?") == ("add", {"a": 2, "b": 40})
    assert call_for("How much is seven times six?") == ("multiply", {"x": 7, "y": 6})
    assert call_for("Search for 'tide tables'") == ("web_search", {"query": "tide tables"})
    assert call_for("Email Bob about the 'Q3 budget'") == (
        "send_message", {"recipient": "Bob", "subject": "Q3 budget"})


def test_parameter_names_and_descriptions_count_towards_the_fit() -> None:
    tools = listed(_tool("lookup", "Look it up.", city=STRING),
                   _tool("compute", "Compute it.", expression={
                       "type": "string", "description": "an arithmetic sum"}))
    assert choose_tool(tools, "What is the sum of 3 and 4?") == tools[1]
    assert choose_tool(tools, "Which city is larger?") == tools[0]


def test_no_fit_means_no_call_unless_one_is_required() -> None:
    assert call_for("Hello there!") is None
    assert call_for("Hello there!", TOOLS, "any") == ("get_weather", {"city": "Hello there!"})
    assert call_for("What is 2 plus 3?", TOOLS, "get_weather") == (
        "get_weather", {"city": "What is 2 plus 3?"})


def test_ties_go_to_the_tool_the_question_can_fill() -> None:
    report = _tool("WeatherReport", "A weather report.", city=STRING, temperature=INTEGER)
    assert call_for("What is the weather in Oslo?", [report, WEATHER], "any") == (
        "get_weather", {"city": "Oslo"})


def test_names_places_and_owners_go_to_the_fields_about_them() -> None:
    pet = {"type": "object", "required": ["name", "age"], "properties": {
        "name": STRING, "age": INTEGER, "owner": {"anyOf": [STRING, {"type": "null"}]}}}
    assert instance_of(pet, "Ann's cat Tom is 3") == {"name": "Tom", "age": 3, "owner": "Ann"}
    trip = {"type": "object", "required": ["traveller", "origin", "destination", "seats"],
            "properties": {"traveller": {"type": "string", "description": "person travelling"},
                           "origin": STRING, "destination": STRING, "seats": INTEGER}}
    assert instance_of(trip, "Book 2 seats from New York to San Francisco for Alice Smith") == {
        "traveller": "Alice Smith", "origin": "New York", "destination": "San Francisco",
        "seats": 2}


def test_enums_take_the_option_named_and_booleans_read_negation() -> None:
    swap = {"type": "object", "required": ["amount", "source", "target", "fee"], "properties": {
        "amount": NUMBER, "source": {"enum": ["USD", "EUR", "GBP"]},
        "target": {"enum": ["USD", "EUR", "GBP"]},
        "fee": {"type": "boolean", "description": "charge a fee"}}}
    assert instance_of(swap, "Convert 12.5 GBP to USD without a fee") == {
        "amount": 12.5, "source": "GBP", "target": "USD", "fee": False}


def test_optional_fields_the_question_leaves_open_are_left_out() -> None:
    schema = {"type": "object", "required": ["city"], "properties": {
        "city": STRING, "days": INTEGER, "units": {"enum": ["metric", "imperial"]},
        "tags": {"type": "array", "items": STRING}}}
    assert instance_of(schema, "Forecast for Lima") == {"city": "Lima"}
    assert instance_of(schema, "Forecast for Lima, 3 days, imperial, tags 'a' and 'b'") == {
        "city": "Lima", "days": 3, "units": "imperial", "tags": ["a", "b"]}


def test_nested_objects_and_references_are_filled() -> None:
    schema = {"type": "object", "required": ["people"], "$defs": {"Person": {
        "type": "object", "required": ["name", "age"],
        "properties": {"name": STRING, "age": INTEGER}}},
        "properties": {"people": {"type": "array", "items": {"$ref": "#/$defs/Person"}}}}
    assert instance_of(schema, "Meet Ada, 36") == {"people": [{"name": "Ada", "age": 36}]}


def test_after_tool_results_the_answer_quotes_them_or_a_required_call_moves_on() -> None:
    called = ("assistant", render_tool_calls([{"name": "get_weather", "args": {"city": "Oslo"}}]))
    result = ChatTurn("tool", "Sunny, 21 degrees", name="get_weather")
    query = render_query([("system", tool_instructions([WEATHER])),
                          ("user", "Weather in Oslo?"), called, result])
    assert play(query, "h") == "Hello from h! The tool returned: Sunny, 21 degrees"
    report = _tool("WeatherReport", "A weather report.", city=STRING, degrees=INTEGER)
    assert call_for("Weather in Oslo?", [WEATHER, report], "any", called, result) == (
        "WeatherReport", {"city": "Oslo", "degrees": 21})


def test_a_json_answer_is_filled_from_the_question_and_the_tool_results() -> None:
    schema = {"type": "object", "required": ["city", "degrees"],
              "properties": {"city": STRING, "degrees": INTEGER}}
    instructions = f"{tool_instructions([WEATHER])}\n\n{json_instructions(schema)}"
    asked = render_query([("system", instructions), ("user", "Weather in Oslo?")])
    assert json.loads(play(asked, "h") or "")["tool_calls"][0]["arguments"] == {"city": "Oslo"}
    answered = render_query([
        ("system", instructions), ("user", "Weather in Oslo?"),
        ("assistant", render_tool_calls([{"name": "get_weather", "args": {"city": "Oslo"}}])),
        ChatTurn("tool", "Sunny, 21 degrees", name="get_weather")])
    assert json.loads(play(answered, "h") or "") == {"city": "Oslo", "degrees": 21}


def test_the_question_is_found_before_or_after_the_instructions() -> None:
    schema = {"type": "object", "required": ["name"], "properties": {"name": STRING}}
    after = f"{json_instructions(schema)}\n\nMy dog is called Rex"
    before = f"My dog is called Rex\n\n{json_instructions(schema)}"
    assert json.loads(play(after, "h") or "") == json.loads(play(before, "h") or "") == {
        "name": "Rex"}


def test_a_json_object_asked_without_a_schema_has_the_keys_the_question_names() -> None:
    query = (f"{JSON_OBJECT_PROMPT}\n\n"
             "Describe Oslo, the capital of Norway, as JSON with keys 'city' and 'country'.")
    assert json.loads(play(query, "h") or "") == {"city": "Oslo", "country": "Norway"}


def test_the_instructions_words_without_a_schema_are_just_a_question() -> None:
    ask = json_instructions({}).split("{", 1)[0]
    assert play(f"{ask} {{not json", "h") is None
    assert play(f"Why does it say '{ask}'?", "h") is None


def reply_to(query: str) -> str:
    """The local server's default reply to a stateless query."""
    return str(default_responder(ResponderRequest("h", query, None, ())))


def test_tools_that_do_not_fit_leave_the_default_reply_which_recalls_the_first_question(
) -> None:
    def transcript(*turns: tuple[str, str]) -> str:
        return render_query([("system", tool_instructions(TOOLS)), *turns])

    first = ("user", "What is 2 plus 40?")
    recalled = transcript(first, ("assistant", "42"), ("user", "What was my first question?"))
    assert reply_to(recalled) == 'Your first question was: "What is 2 plus 40?"'
    moved_on = render_query([("user", "Hi"), ("assistant", "Hello"),
                             ("user", "What was my first question?"),
                             ("assistant", 'Your first question was: "Hi"'),
                             ("user", "Tell me a story")])
    assert reply_to(moved_on) == "Hello from h! You said: Tell me a story"  # only the newest


def test_a_json_answer_after_tool_results_takes_its_values_from_them_first() -> None:
    called = ("assistant", render_tool_calls([{"name": "add", "args": {"a": 2, "b": 40}}]))
    result = ChatTurn("tool", "42", name="add")
    schema = {"type": "object", "required": ["result"], "properties": {"result": INTEGER}}
    query = render_query([("system", json_instructions(schema)), ("user", "What is 2 plus 40?"),
                          called, result, ("assistant", "It is 42.")])
    assert json.loads(play(query, "h") or "") == {"result": 42}


def test_a_choice_of_described_constants_is_read_like_an_enum() -> None:
    choice = {"anyOf": [{"const": "get_weather", "description": "Get the weather in a city."},
                        {"const": "add", "description": "Add two integers."},
                        {"const": "lookup", "description": "Search the encyclopedia."}]}
    schema = {"type": "object", "required": ["tools"],
              "properties": {"tools": {"type": "array", "items": choice}}}
    assert instance_of(schema, "What is 2 plus 40?") == {"tools": ["add"]}
    assert instance_of(schema, "Search for whales") == {"tools": ["lookup"]}  # by description
    assert instance_of(schema, "Hello")["tools"] == ["get_weather"]  # none fits: the first


def test_json_keys_named_in_backticks_and_names_at_a_line_start() -> None:
    query = (f"{JSON_OBJECT_PROMPT}\n\n"
             "Tell me about Oslo, respond in JSON with `city` and `country` keys.")
    assert set(json.loads(play(query, "h") or "")) == {"city", "country"}
    pet = {"type": "object", "required": ["name"], "properties": {"name": STRING}}
    assert instance_of(pet, "---\nGiven the text, the cat is Tom.") == {"name": "Tom"}
