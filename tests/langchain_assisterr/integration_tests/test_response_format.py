"""``response_format`` given through ``bind``/``invoke``, in the shapes OpenAI-style code uses:
the schema reaches the query and the message holds the JSON answer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

from assisterr_core import InvalidRequestError
from assisterr_core.chat import JSON_OBJECT_PROMPT, json_instructions
from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr


class Pet(BaseModel):
    name: str
    age: int


PET_SCHEMA: dict[str, Any] = Pet.model_json_schema()
OPENAI_SHAPE = {"type": "json_schema",
                "json_schema": {"name": "Pet", "schema": PET_SCHEMA, "strict": True}}


async def test_an_openai_json_schema_format_reaches_the_query_and_is_answered(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    bound = chat.bind(response_format=OPENAI_SHAPE)
    replies = [bound.invoke("Ann's cat Tom is 3"),
               await chat.ainvoke("Ann's cat Tom is 3", response_format=OPENAI_SHAPE)]
    assert [json.loads(reply.text) for reply in replies] == [{"name": "Tom", "age": 3}] * 2
    for request in assisterr_emulator.chat_requests():
        assert request.query == f"{json_instructions(PET_SCHEMA)}\n\nAnn's cat Tom is 3"


def test_a_pydantic_model_or_a_plain_schema_is_a_format_too(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    for response_format in (Pet, PET_SCHEMA, {"name": "Pet", "schema": PET_SCHEMA}):
        reply = chat.invoke("Ann's cat Tom is 3", response_format=response_format)
        assert json.loads(reply.text) == {"name": "Tom", "age": 3}
        query = assisterr_emulator.chat_requests()[-1].query
        assert query.startswith(json_instructions({})[:-2])  # the JSON ask, then the schema
        assert '"required": ["name", "age"], "title": "Pet"' in query


async def test_the_message_holds_the_json_alone_and_keeps_the_reply_beside_it(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    written = 'Sure! Here it is:\n```json\n{"name": "Tom", "age": 3}\n```'
    assisterr_emulator.set_responder(lambda _: written)
    bound = chat.bind(response_format={"type": "json_object"})
    streamed = [chunk async for chunk in bound.astream("Tom, 3, as JSON")]
    for message in (bound.invoke("Tom, 3, as JSON"), streamed[0]):
        assert message.text == '{"name": "Tom", "age": 3}'
        assert message.response_metadata["reply_text"] == written
    assert len(streamed) == 1  # held back: the JSON is known only once the reply has ended
    assert JSON_OBJECT_PROMPT in assisterr_emulator.chat_requests()[-1].query


def test_a_format_it_cannot_read_is_refused_before_anything_is_sent(
    chat: ChatAssisterr, assisterr_emulator: EmulatorServer
) -> None:
    for bad in ({"type": "xml"}, {"type": "json_schema", "json_schema": {"name": "x"}}, "json",
                int):
        with pytest.raises(InvalidRequestError, match="response_format"):
            chat.invoke("hi", response_format=bad)
    assert assisterr_emulator.requests == []
    assert chat.invoke("hi", response_format={"type": "text"}).text.endswith("You said: hi")
