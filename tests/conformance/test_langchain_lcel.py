"""LangChain conformance: LCEL chains (prompt | model | parser) in every way they are run."""

from __future__ import annotations

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable

from assisterr_emulator import EmulatorServer

from ._langchain import HANDLE, model_on
from .conftest import pattern

QUESTIONS = ["Where is the treasure?", "Who is the captain?", "What is the ship called?"]


def pirate_chain(server: EmulatorServer) -> Runnable[dict[str, str], str]:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a {role}."), ("human", "{question}")])
    return prompt | model_on(server) | StrOutputParser()


def answer_to(question: str) -> str:
    """The local server's default reply: it echoes the user's message."""
    return f"Hello from {HANDLE}! You said: {question}"


@pattern("LangChain", "LCEL chain: invoke", "prompt | model | StrOutputParser(); the system "
         "text and the question go in the one query the API takes")
def test_lcel_chain_invoke(assisterr_emulator: EmulatorServer) -> None:
    chain = pirate_chain(assisterr_emulator)
    assert chain.invoke({"role": "pirate", "question": QUESTIONS[0]}) == answer_to(QUESTIONS[0])
    [request] = assisterr_emulator.chat_requests()
    assert request.query == f"You are a pirate.\n\n{QUESTIONS[0]}"


@pattern("LangChain", "LCEL chain: stream", "tokens as the server sends them, through the "
         "parser")
def test_lcel_chain_stream(assisterr_emulator: EmulatorServer) -> None:
    chain = pirate_chain(assisterr_emulator)
    pieces = list(chain.stream({"role": "pirate", "question": QUESTIONS[0]}))
    assert len(pieces) > 3 and "".join(pieces) == answer_to(QUESTIONS[0])
    [request] = assisterr_emulator.chat_requests()
    assert request.path.endswith("/chat/stream/")


@pattern("LangChain", "LCEL chain: batch", "one request per input, answers in input order")
def test_lcel_chain_batch(assisterr_emulator: EmulatorServer) -> None:
    chain = pirate_chain(assisterr_emulator)
    answers = chain.batch([{"role": "pirate", "question": q} for q in QUESTIONS])
    assert answers == [answer_to(q) for q in QUESTIONS]
    assert sorted(r.query for r in assisterr_emulator.chat_requests()) == sorted(
        f"You are a pirate.\n\n{q}" for q in QUESTIONS)


@pattern("LangChain", "LCEL chain: abatch", "concurrent on aiohttp, answers in input order")
async def test_lcel_chain_abatch(assisterr_emulator: EmulatorServer) -> None:
    chain = pirate_chain(assisterr_emulator)
    answers = await chain.abatch([{"role": "pirate", "question": q} for q in QUESTIONS])
    assert answers == [answer_to(q) for q in QUESTIONS]
    assert len(assisterr_emulator.chat_requests()) == len(QUESTIONS)


@pattern("LangChain", 'astream_events(version="v2")', "start, one stream event per server "
         "chunk, end, for the model and the chain")
async def test_astream_events_v2(assisterr_emulator: EmulatorServer) -> None:
    chain = pirate_chain(assisterr_emulator)
    events = [e async for e in chain.astream_events(
        {"role": "pirate", "question": QUESTIONS[0]}, version="v2")]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "on_chain_start" and kinds[-1] == "on_chain_end"
    assert kinds.index("on_chat_model_start") < kinds.index("on_chat_model_stream") \
        < kinds.index("on_chat_model_end")
    streamed = [e["data"]["chunk"].text for e in events if e["event"] == "on_chat_model_stream"]
    assert len(streamed) > 3 and "".join(streamed) == answer_to(QUESTIONS[0])
    assert events[-1]["data"]["output"] == answer_to(QUESTIONS[0])
