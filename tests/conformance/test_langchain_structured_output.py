"""LangChain conformance: structured output, in each method and through ``response_format``."""

from __future__ import annotations

import json

from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage
from pydantic import BaseModel, Field

from assisterr_core.chat import JSON_OBJECT_PROMPT, json_instructions
from assisterr_emulator import EmulatorServer

from ._langchain import model_on
from .conftest import pattern


class Pet(BaseModel):
    """A pet and its age."""

    name: str = Field(description="the pet's name")
    age: int


@pattern("LangChain", "with_structured_output: json_schema",
         "the default; the schema goes in the query and the reply is validated")
def test_with_structured_output_json_schema(assisterr_emulator: EmulatorServer) -> None:
    pet = model_on(assisterr_emulator).with_structured_output(Pet).invoke("Ann's cat Tom is 3")
    assert pet == Pet(name="Tom", age=3)
    query = assisterr_emulator.chat_requests()[0].query
    assert query.startswith(json_instructions({})[:-2]) and '"title": "Pet"' in query


@pattern("LangChain", "with_structured_output: function_calling",
         "the schema as the one tool the model must call")
def test_with_structured_output_function_calling(assisterr_emulator: EmulatorServer) -> None:
    structured = model_on(assisterr_emulator).with_structured_output(
        Pet, method="function_calling")
    assert structured.invoke("Ann's cat Tom is 3") == Pet(name="Tom", age=3)
    assert 'You must call the tool "Pet" now.' in assisterr_emulator.chat_requests()[0].query


@pattern("LangChain", "with_structured_output: json_mode",
         "JSON asked for without a schema; the prompt names the keys")
def test_with_structured_output_json_mode(assisterr_emulator: EmulatorServer) -> None:
    structured = model_on(assisterr_emulator).with_structured_output(method="json_mode")
    answer = structured.invoke("Describe Oslo as JSON with 'city' and 'country' keys.")
    assert set(answer) == {"city", "country"} and answer["city"] == "Oslo"
    query = assisterr_emulator.chat_requests()[0].query
    assert query.startswith(JSON_OBJECT_PROMPT) and "properties" not in query


@pattern("LangChain", "with_structured_output: include_raw", "raw message, parsed object and "
         "parsing error; prose around the JSON is kept in the raw message's metadata")
def test_with_structured_output_include_raw(assisterr_emulator: EmulatorServer) -> None:
    chatty = 'Sure! Here it is:\n```json\n{"name": "Tom", "age": 3}\n```'
    assisterr_emulator.set_responder([chatty, "I'd rather not say."])  # an SLM's two moods
    structured = model_on(assisterr_emulator).with_structured_output(Pet, include_raw=True)
    good, bad = structured.invoke("Ann's cat Tom is 3"), structured.invoke("And Rex?")
    assert good["parsed"] == Pet(name="Tom", age=3) and good["parsing_error"] is None
    assert isinstance(good["raw"], AIMessage)
    assert json.loads(good["raw"].text) == {"name": "Tom", "age": 3}
    assert good["raw"].response_metadata["reply_text"] == chatty
    assert bad["parsed"] is None and isinstance(bad["parsing_error"], OutputParserException)
    assert bad["raw"].text == "I'd rather not say."


@pattern("LangChain", "bind(response_format=...) in OpenAI's json_schema shape",
         "what ProviderStrategy binds: the schema reaches the query, the message is bare JSON")
def test_bind_response_format(assisterr_emulator: EmulatorServer) -> None:
    response_format = {"type": "json_schema", "json_schema": {
        "name": "Pet", "schema": Pet.model_json_schema(), "strict": True}}
    bound = model_on(assisterr_emulator).bind(response_format=response_format)
    assert Pet.model_validate_json(bound.invoke("Ann's cat Tom is 3").text) == Pet(
        name="Tom", age=3)
    query = assisterr_emulator.chat_requests()[0].query
    assert query == f"{json_instructions(Pet.model_json_schema())}\n\nAnn's cat Tom is 3"


@pattern("LangChain", "with_structured_output: include_raw, streamed",
         "stream and astream end with raw, parsed and parsing_error, also when the reply "
         "does not parse (no exception)")
async def test_with_structured_output_include_raw_streamed(
    assisterr_emulator: EmulatorServer,
) -> None:
    assisterr_emulator.set_responder(['{"name": "Tom", "age": 3}', "I'd rather not say."] * 2)
    structured = model_on(assisterr_emulator).with_structured_output(Pet, include_raw=True)
    good, bad = (list(structured.stream(q))[-1] for q in ("Ann's cat Tom is 3", "And Rex?"))
    streamed = []
    for question in ("Ann's cat Tom is 3", "And Rex?"):
        streamed.append([chunk async for chunk in structured.astream(question)][-1])
    agood, abad = streamed
    for ok, failed in ((good, bad), (agood, abad)):
        assert ok["parsed"] == Pet(name="Tom", age=3) and ok["parsing_error"] is None
        assert json.loads(ok["raw"].text) == {"name": "Tom", "age": 3}
        assert failed["parsed"] is None and failed["raw"].text == "I'd rather not say."
        assert isinstance(failed["parsing_error"], OutputParserException)
