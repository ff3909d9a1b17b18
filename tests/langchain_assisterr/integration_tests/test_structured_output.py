"""``with_structured_output`` against the local server: the JSON instructions, parsing, errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr


class Pet(BaseModel):
    """A pet."""

    name: str = Field(description="the pet's name")
    age: int


class PetDict(TypedDict):
    """A pet."""

    name: str
    age: int


PET_SCHEMA: dict[str, Any] = Pet.model_json_schema()
VALID = 'Here you go:\n```json\n{"name": "Rex", "age": 3}\n```'


@pytest.mark.parametrize(
    ("schema", "expected"),
    [(Pet, Pet(name="Rex", age=3)), (PetDict, {"name": "Rex", "age": 3}),
     (PET_SCHEMA, {"name": "Rex", "age": 3})],
    ids=["pydantic", "typeddict", "json_schema"],
)
@pytest.mark.parametrize("method", ["json_schema", "json_mode", "function_calling"])
async def test_valid_answers_sync_and_async(
    schema: Any, expected: Any, method: str, chat: ChatAssisterr,
    assisterr_emulator: EmulatorServer,
) -> None:
    name = convert_to_json_schema(schema)["title"]
    reply = (json.dumps({"tool_calls": [{"name": name, "arguments": {"name": "Rex", "age": 3}}]})
             if method == "function_calling" else VALID)
    assisterr_emulator.set_responder(lambda _: reply)
    runnable = chat.with_structured_output(schema, method=method)  # type: ignore[arg-type]
    assert runnable.invoke("Describe Rex, 3.") == expected
    assert await runnable.ainvoke("Describe Rex, 3.") == expected
    assert list(runnable.stream("Describe Rex, 3.")) == [expected]
    assert [x async for x in runnable.astream("Describe Rex, 3.")] == [expected]


def test_json_schema_reaches_the_server_and_the_player_answers_it(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    pet = chat.with_structured_output(Pet).invoke("My dog 'Rex' is 3 years old.")
    assert pet == Pet(name="Rex", age=3)
    query = assisterr_emulator.chat_requests()[-1].query
    assert query.startswith("Answer with only a JSON value that matches this JSON schema")
    assert json.dumps(convert_to_json_schema(Pet), sort_keys=True) in query
    assert query.endswith("\n\nMy dog 'Rex' is 3 years old.")


def test_json_mode_asks_for_json_without_a_schema(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: VALID)
    chat.with_structured_output(Pet, method="json_mode").invoke("Rex, 3, as JSON with name, age")
    query = assisterr_emulator.chat_requests()[-1].query
    assert query.startswith("Answer with only a JSON object, and nothing else.")
    assert "properties" not in query


@pytest.mark.parametrize(
    ("reply", "message"),
    [("Rex is a good dog.", "no JSON answer"),
     ('{"name": "Rex"}', "does not match"),
     ('{"name": "Rex", "age": "three"}', "does not match")],
)
@pytest.mark.parametrize(
    "schema", [Pet, PetDict, PET_SCHEMA], ids=["pydantic", "typeddict", "json"]
)
async def test_invalid_answers_raise_output_parser_exception(
    reply: str, message: str, schema: Any, chat: ChatAssisterr,
    assisterr_emulator: EmulatorServer,
) -> None:
    assisterr_emulator.set_responder(lambda _: reply)
    runnable = chat.with_structured_output(schema)
    with pytest.raises(OutputParserException, match=message) as caught:
        runnable.invoke("Describe Rex.")
    assert caught.value.llm_output == reply
    with pytest.raises(OutputParserException, match=message):
        await runnable.ainvoke("Describe Rex.")


def test_function_calling_without_a_call_raises(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: "I would rather not.")
    with pytest.raises(OutputParserException, match="calls no usable tool"):
        chat.with_structured_output(Pet, method="function_calling").invoke("Describe Rex.")
    query = assisterr_emulator.chat_requests()[-1].query
    assert 'You must call the tool "Pet" now.' in query


@pytest.mark.parametrize("reply", [VALID, "no JSON here"])
async def test_include_raw(
    reply: str, chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: reply)
    runnable = chat.with_structured_output(Pet, include_raw=True)
    for result in (runnable.invoke("Rex?"), await runnable.ainvoke("Rex?")):
        assert isinstance(result, dict)
        raw = result["raw"]
        assert isinstance(raw, AIMessage)
        if reply == VALID:  # the message holds the answer's JSON, the reply is kept beside it
            assert raw.content == '{"name": "Rex", "age": 3}'
            assert raw.response_metadata["reply_text"] == reply
            assert result["parsed"] == Pet(name="Rex", age=3)
            assert result["parsing_error"] is None
        else:
            assert raw.content == reply and "reply_text" not in raw.response_metadata
            assert result["parsed"] is None
            assert isinstance(result["parsing_error"], OutputParserException)


def test_unknown_arguments_and_methods_are_refused(chat: ChatAssisterr) -> None:
    with pytest.raises(ValueError, match="unsupported arguments"):
        chat.with_structured_output(Pet, temperature=0)
    with pytest.raises(ValueError, match="method must be one of"):
        chat.with_structured_output(Pet, method="xml")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [(VALID, {"name": "Rex", "age": 3}), ("Sure: [1, 2]", [1, 2]),
     ('{"a": {"b": null}}', {"a": {"b": None}})],
)
async def test_json_mode_without_a_schema_returns_the_parsed_json(
    reply: str, expected: Any, chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: reply)
    runnable = chat.with_structured_output(None, method="json_mode")
    assert runnable.invoke("Rex, 3, as JSON") == expected
    assert await runnable.ainvoke("Rex, 3, as JSON") == expected
    assert chat.with_structured_output(method="json_mode", include_raw=True).invoke(
        "Rex?")["parsed"] == expected
    query = assisterr_emulator.chat_requests()[-1].query
    assert query.startswith("Answer with only a JSON object, and nothing else.")


def test_json_mode_without_a_schema_still_needs_json(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: "Rex is a good dog.")
    with pytest.raises(OutputParserException, match="no JSON answer"):
        chat.with_structured_output(None, method="json_mode").invoke("Rex?")
    for method in ("json_schema", "function_calling"):
        with pytest.raises(ValueError, match="needs a schema"):
            chat.with_structured_output(None, method=method)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "schema", [Pet, PetDict, PET_SCHEMA], ids=["pydantic", "typeddict", "json"]
)
@pytest.mark.parametrize("method", ["json_schema", "json_mode"])
async def test_a_candidate_that_does_not_fit_is_skipped(
    schema: Any, method: str, chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: 'Sure [1]: {"name": "Bob", "age": 3}')
    runnable = chat.with_structured_output(schema, method=method)  # type: ignore[arg-type]
    expected = Pet(name="Bob", age=3) if schema is Pet else {"name": "Bob", "age": 3}
    assert runnable.invoke("Bob?") == expected
    assert await runnable.ainvoke("Bob?") == expected


def test_the_first_mismatch_is_reported_when_no_candidate_fits(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: 'Sure [1]: {"name": "Bob"}')
    with pytest.raises(OutputParserException, match="does not match Pet") as caught:
        chat.with_structured_output(Pet).invoke("Bob?")
    assert caught.value.llm_output == 'Sure [1]: {"name": "Bob"}'
