"""Pure parts of tool calling: tool choice, tool specs, the protocol of a call."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_assisterr._tools import Protocol, tool_choice_name, tool_specs

NAMES = ["add", "get_weather"]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [(None, "auto"), ("auto", "auto"), (False, "auto"), ("any", "any"), ("required", "any"),
     ("none", "none"), ("add", "add"), ({"type": "function", "function": {"name": "add"}}, "add"),
     ({"type": "tool", "name": "add"}, "add"), ({"type": "any"}, "any"), (True, "any")],
)
def test_tool_choice_name(choice: Any, expected: str) -> None:
    assert tool_choice_name(choice, NAMES) == expected


def test_true_picks_the_only_tool_and_unknown_names_fail() -> None:
    assert tool_choice_name(True, ["add"]) == "add"
    with pytest.raises(ValueError, match="names no bound tool"):
        tool_choice_name("multiply", NAMES)


def test_protocol_from_bound_kwargs() -> None:
    tools = [{"type": "function", "function": {"name": "ping"}}]
    assert tool_specs(tools)[0].parameters == {"type": "object", "properties": {}}
    both = Protocol.from_kwargs(
        {"tools": tools, "tool_choice": "any", "response_format": {"type": "json_object"}},
        tool_template="T {tools} {choice}", json_template="J {schema}",
    )
    assert both.instructions is not None and both.instructions.startswith("T - ping")
    assert both.instructions.endswith("\n\nAnswer with only a JSON object, and nothing else.")
    schema = Protocol.from_kwargs({"response_format": {"type": "json_schema", "schema": {}}},
                                  tool_template="", json_template="J {schema}")
    assert (schema.instructions, schema.tools) == ("J {}", None)
    assert Protocol.from_kwargs({}, tool_template="", json_template="") == Protocol()
