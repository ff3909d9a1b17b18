"""LlamaIndex structured outputs: pydantic objects from an SLM that only returns text."""

from __future__ import annotations

import json

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.program import FunctionCallingProgram, LLMTextCompletionProgram
from llama_index.core.prompts import PromptTemplate

from assisterr_emulator import EmulatorServer

from ._llama_index import make_llm
from .conftest import pattern

WHO = "my dog 'Rex', 3 years old"
JSON_ASK = "Answer with only a JSON value that matches this JSON schema"


class Pet(BaseModel):
    """A pet and its age in years."""

    name: str
    age: int


REX = Pet(name="Rex", age=3)
SCHEMA = json.dumps(Pet.model_json_schema(), sort_keys=True)


@pattern("LlamaIndex", "structured_predict", "the JSON schema in the query, the answer "
         "validated; streamed too")
async def test_structured_predict(assisterr_emulator: EmulatorServer) -> None:
    llm = make_llm(assisterr_emulator)
    prompt = PromptTemplate("Describe {who}.")

    assert llm.structured_predict(Pet, prompt, who=WHO) == REX
    assert await llm.astructured_predict(Pet, prompt, who=WHO) == REX
    assert list(llm.stream_structured_predict(Pet, prompt, who=WHO))[-1] == REX
    query = assisterr_emulator.chat_requests()[0].query or ""
    assert query.startswith(f"Describe {WHO}.")
    assert query.endswith(f"{JSON_ASK}, and nothing else:\n{SCHEMA}")


@pattern("LlamaIndex", "as_structured_llm", "a structured LLM whose responses carry the "
         "object in raw")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # StructuredLLM calls pydantic's .json()
def test_as_structured_llm(assisterr_emulator: EmulatorServer) -> None:
    structured = make_llm(assisterr_emulator).as_structured_llm(Pet)

    completed = structured.complete(f"Describe {WHO}.")
    streamed = list(structured.stream_chat([ChatMessage(role="user", content=f"Describe {WHO}.")]))

    assert completed.raw == REX and json.loads(completed.text) == REX.model_dump()
    assert streamed[-1].raw == REX
    assert all(JSON_ASK in (r.query or "") for r in assisterr_emulator.chat_requests())


@pattern("LlamaIndex", "FunctionCallingProgram", "the output class as a tool the SLM must "
         "call, by prompt")
async def test_function_calling_program(assisterr_emulator: EmulatorServer) -> None:
    program = FunctionCallingProgram.from_defaults(
        output_cls=Pet, prompt_template_str="Describe {who}.", llm=make_llm(assisterr_emulator))

    assert program(who=WHO) == REX
    assert await program.acall(who=WHO) == REX
    query = assisterr_emulator.chat_requests()[0].query or ""
    assert query.startswith("You can use these tools:\n\n- Pet: A pet and its age in years.")
    assert "You must call at least one of the tools now." in query


@pattern("LlamaIndex", "LLMTextCompletionProgram", "LlamaIndex's own format text in the "
         "query (its schema's braces arrive doubled), the JSON reply read (reply scripted)")
def test_llm_text_completion_program(assisterr_emulator: EmulatorServer) -> None:
    # LlamaIndex's format text is not the core's JSON instructions, which the local server plays:
    # the reply is scripted, as a model would answer
    assisterr_emulator.set_responder(lambda request: 'Here: {"name": "Rex", "age": 3}')
    program = LLMTextCompletionProgram.from_defaults(
        output_cls=Pet, prompt_template_str="Describe {who}.", llm=make_llm(assisterr_emulator))

    assert program(who=WHO) == REX
    query = assisterr_emulator.chat_requests()[0].query or ""
    assert query.startswith(f"Describe {WHO}.") and "Here's a JSON schema to follow:" in query
