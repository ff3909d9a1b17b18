"""``structured_predict`` and friends on the local server: JSON instructions, parsing, events."""

from __future__ import annotations

import json

import pytest
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms import ChatMessage
from llama_index.core.prompts import ChatPromptTemplate, PromptTemplate
from llama_index.core.types import PydanticProgramMode

from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr

from .conftest import make_llm

PROMPT = PromptTemplate("Describe {who}.")
WHO = "my dog 'Rex', 3 years old"


class Pet(BaseModel):
    name: str
    age: int


def test_schema_reaches_the_server_as_json_and_the_answer_is_read(
    llm: Assisterr, assisterr_emulator: EmulatorServer, events: list[BaseEvent]
) -> None:
    assert llm.structured_predict(Pet, PROMPT, who=WHO) == Pet(name="Rex", age=3)
    query = assisterr_emulator.chat_requests()[-1].query
    schema = json.dumps(Pet.model_json_schema(), sort_keys=True)
    assert query == (f"Describe {WHO}.\n\nAnswer with only a JSON value that matches this "
                     f"JSON schema, and nothing else:\n{schema}")
    assert "{{" not in query
    assert PROMPT.output_parser is None  # the caller's template is left as it was
    kinds = [type(e) for e in events if isinstance(
        e, LLMStructuredPredictStartEvent | LLMStructuredPredictEndEvent)]
    assert kinds == [LLMStructuredPredictStartEvent, LLMStructuredPredictEndEvent]


async def test_async_and_chat_templates(llm: Assisterr) -> None:
    chat_prompt = ChatPromptTemplate([ChatMessage(role="system", content="You describe pets."),
                                      ChatMessage(role="user", content="Describe {who}.")])
    assert await llm.astructured_predict(Pet, PROMPT, who=WHO) == Pet(name="Rex", age=3)
    assert await llm.astructured_predict(Pet, chat_prompt, who=WHO) == Pet(name="Rex", age=3)


def test_fenced_answers_with_prose_are_read(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: 'Sure!\n```json\n{"name": "Bo", "age": 7}\n```')
    assert llm.structured_predict(Pet, PROMPT, who="Bo") == Pet(name="Bo", age=7)


@pytest.mark.parametrize(("reply", "message"), [("I cannot.", "no JSON value"),
                                                ('{"name": "Bo"}', "does not match Pet")])
async def test_unusable_answers_raise_value_error(
    reply: str, message: str, llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: reply)
    with pytest.raises(ValueError, match=message):
        llm.structured_predict(Pet, PROMPT, who="Bo")
    with pytest.raises(ValueError, match=message):
        await llm.astructured_predict(Pet, PROMPT, who="Bo")


async def test_streamed_partials_end_with_the_full_object(llm: Assisterr) -> None:
    partials = list(llm.stream_structured_predict(Pet, PROMPT, who=WHO))
    assert partials[-1] == Pet(name="Rex", age=3)
    apartials = [p async for p in await llm.astream_structured_predict(Pet, PROMPT, who=WHO)]
    assert apartials[-1] == Pet(name="Rex", age=3)


def test_the_json_template_can_change(assisterr_emulator: EmulatorServer) -> None:
    assisterr_emulator.set_responder(lambda _: '{"name": "Bo", "age": 7}')
    llm = make_llm(assisterr_emulator, json_prompt_template="JSON only, schema: {schema}")

    assert llm.structured_predict(Pet, PROMPT, who="Bo") == Pet(name="Bo", age=7)
    assert "\n\nJSON only, schema: {" in (assisterr_emulator.chat_requests()[-1].query or "")


async def test_function_mode_calls_the_output_class_as_a_tool(
    assisterr_emulator: EmulatorServer, events: list[BaseEvent]
) -> None:
    llm = make_llm(assisterr_emulator, pydantic_program_mode=PydanticProgramMode.FUNCTION)
    rex = Pet(name="Rex", age=3)

    assert llm.structured_predict(Pet, PROMPT, who=WHO) == rex
    assert await llm.astructured_predict(Pet, PROMPT, who=WHO) == rex
    assert list(llm.stream_structured_predict(Pet, PROMPT, who=WHO))[-1] == rex
    assert [p async for p in await llm.astream_structured_predict(Pet, PROMPT, who=WHO)][-1] == rex
    queries = {r.query or "" for r in assisterr_emulator.chat_requests()}
    assert len(queries) == 1
    (query,) = queries
    assert query.startswith("You can use these tools:\n\n- Pet: ")
    assert "You must call at least one of the tools now." in query
    assert query.endswith(f"\n\nDescribe {WHO}.")
    kinds = [type(e) for e in events if isinstance(e, LLMStructuredPredictEndEvent)]
    assert len(kinds) == 4


STREAM_REPLIES = {
    "prose": 'Sure: {"name": "Bob", "age": 3}',
    "fenced": 'Here it is:\n```json\n{"name": "Bob", "age": 3}\n```\nEnjoy!',
    "bare": '{"name": "Bob", "age": 3}',
    "stray array first": 'Sure [1]: {"name": "Bob", "age": 3}',
}


@pytest.mark.parametrize("case", STREAM_REPLIES)
async def test_streamed_forms_read_replies_as_forgivingly_as_the_whole_one(
    case: str, llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: STREAM_REPLIES[case])
    bob = Pet(name="Bob", age=3)
    partials = list(llm.stream_structured_predict(Pet, PROMPT, who="Bob"))
    apartials = [p async for p in await llm.astream_structured_predict(Pet, PROMPT, who="Bob")]
    for items in (partials, apartials):
        assert isinstance(items[-1], Pet) and items[-1] == bob
        if case != "bare":  # around prose, an object only once the JSON is whole
            assert all((p.name, p.age) == ("Bob", 3) for p in items)
    assert llm.structured_predict(Pet, PROMPT, who="Bob") == bob
    assert await llm.astructured_predict(Pet, PROMPT, who="Bob") == bob


async def test_bare_json_streams_partial_objects(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: ['{"name": "Bob"', ', "age": 3}'])
    partials = [p async for p in await llm.astream_structured_predict(Pet, PROMPT, who="Bob")]
    assert [(p.name, p.age) for p in partials] == [("Bob", None), ("Bob", 3), ("Bob", 3)]
    assert isinstance(partials[-1], Pet) and not isinstance(partials[0], Pet)


async def test_a_streamed_reply_without_an_answer_raises_at_the_end(
    llm: Assisterr, assisterr_emulator: EmulatorServer
) -> None:
    assisterr_emulator.set_responder(lambda _: 'Sure [1]: {"name": "Bo"}')
    with pytest.raises(ValueError, match="does not match Pet"):
        list(llm.stream_structured_predict(Pet, PROMPT, who="Bo"))
    with pytest.raises(ValueError, match="does not match Pet"):
        [p async for p in await llm.astream_structured_predict(Pet, PROMPT, who="Bo")]
