"""Pure parts of tool calling: what a call's bound tools and response format ask of the model."""

from __future__ import annotations

from langchain_assisterr._tools import CallInstructions


def test_instructions_from_bound_kwargs() -> None:
    tools = [{"type": "function", "function": {"name": "ping"}}]
    both = CallInstructions.from_kwargs(
        {"tools": tools, "tool_choice": "any", "response_format": {"type": "json_object"}},
        tool_template="T {tools} {choice}", json_template="J {schema}",
    )
    assert both.tools is not None
    assert both.tools[0].parameters == {"type": "object", "properties": {}}
    assert both.text is not None and both.text.startswith("T - ping")
    assert both.text.endswith("\n\nAnswer with only a JSON object, and nothing else.")
    schema = CallInstructions.from_kwargs(
        {"response_format": {"type": "json_schema", "schema": {}}},
        tool_template="", json_template="J {schema}",
    )
    assert (schema.text, schema.tools) == ("J {}", None)
    assert CallInstructions.from_kwargs({}, tool_template="", json_template="") == (
        CallInstructions()
    )
