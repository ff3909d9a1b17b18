"""The demo: both integrations, live, against the local server or the real Assisterr API.

With ``ASSISTERR_API_KEY`` set it talks to the real API (``ASSISTERR_HANDLE_NAME`` names
the SLM, ``ASSISTERR_BASE_URL`` overrides the URL); without it, it starts the bundled local
Assisterr-compatible server and says so. It leaves no session behind.
"""

from __future__ import annotations

import asyncio
import os
import sys
from contextlib import ExitStack

from langchain.agents import create_agent
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.tools import tool
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.embeddings import MockEmbedding

from assisterr_core import AssisterrClient
from assisterr_core.emulator import EmulatorServer
from langchain_assisterr import AssisterrChatMessageHistory, ChatAssisterr
from llama_index_assisterr import Assisterr

DOCUMENTS = [
    "Assisterr hosts small language models (SLMs), each addressed by a handle name.",
    "An Assisterr session keeps a conversation on the server: every turn is recorded.",
    "The Assisterr API takes one query string per request and answers with text.",
]


def say(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def connection(stack: ExitStack) -> dict[str, str]:
    """Where to talk: the real API when a key is set, else a local server started here."""
    if os.environ.get("ASSISTERR_API_KEY"):
        handle = os.environ.get("ASSISTERR_HANDLE_NAME")
        if not handle:
            sys.exit("Set ASSISTERR_HANDLE_NAME to the handle of the SLM to talk to.")
        print(f"Using the Assisterr API at {os.environ.get('ASSISTERR_BASE_URL', 'the public URL')}"
              f" with the SLM '{handle}'.")
        return {"model": handle}
    server = stack.enter_context(EmulatorServer(chunk_delay=0.04))
    print("No ASSISTERR_API_KEY set: started the bundled local Assisterr-compatible server at "
          f"{server.base_url} (set ASSISTERR_API_KEY and ASSISTERR_HANDLE_NAME for the real API).")
    return {"model": "demo-slm", "base_url": server.base_url, "api_key": server.api_key}


def langchain_streaming_chain(settings: dict[str, str]) -> None:
    say("LangChain: an LCEL chain, tokens printed as they arrive")
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You answer in one short sentence."), ("human", "{question}")]
    )
    chain = prompt | ChatAssisterr(**settings) | StrOutputParser()
    for token in chain.stream({"question": "What is a small language model?"}):
        print(token, end="", flush=True)
    print()


def langchain_session_memory(settings: dict[str, str]) -> str:
    say("LangChain: a server-side session that remembers")
    history = AssisterrChatMessageHistory(**settings)
    model = ChatAssisterr(**settings, session_id=history.session_id)
    for question in ("What is the capital of France?", "What was my first question?"):
        print(f"you> {question}")
        answer = model.invoke(question)
        print(f"slm> {answer.content}")
    print(f"The server recorded {len(history.messages)} messages in session "
          f"{history.session_id}.")
    return history.session_id


def langchain_agent(settings: dict[str, str]) -> None:
    say("LangChain: an agent calling a tool (tools travel in the query, the reply is parsed)")

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather in a city."""
        return f"It is sunny and 21 degrees in {city}."

    agent = create_agent(ChatAssisterr(**settings), tools=[get_weather])
    result = agent.invoke({"messages": [("user", "What is the weather in 'Lisbon'?")]})
    for message in result["messages"]:
        calls = getattr(message, "tool_calls", None)
        shown = f"calls {calls[0]['name']}({calls[0]['args']})" if calls else message.content
        print(f"{message.type:>5}> {shown}")


def llama_index_query_engine(settings: dict[str, str]) -> None:
    say("LlamaIndex: a query engine over three bundled documents, answer streamed")
    index = VectorStoreIndex.from_documents(
        [Document(text=text) for text in DOCUMENTS], embed_model=MockEmbedding(embed_dim=16)
    )
    engine = index.as_query_engine(llm=Assisterr(**settings), streaming=True,
                                   similarity_top_k=len(DOCUMENTS))
    response = engine.query("How many query strings does one Assisterr request take?")
    for token in response.response_gen:
        print(token, end="", flush=True)
    print()


async def llama_index_async(settings: dict[str, str]) -> None:
    say("LlamaIndex: three async completions at once")
    llm = Assisterr(**settings)
    answers = await asyncio.gather(*(llm.acomplete(f"Say {n}") for n in ("one", "two", "three")))
    for answer in answers:
        print(f"slm> {answer.text}")


def clean_up(settings: dict[str, str], created: list[str]) -> None:
    say("Sessions: list what this demo created, then delete it")
    options = {k: v for k, v in settings.items() if k != "model"}
    with AssisterrClient(**options) as client:
        mine = [s for s in client.list_sessions(settings["model"]) if s.id in created]
        for session in mine:
            print(f"session {session.id} created {session.created_at:%Y-%m-%d %H:%M:%S} UTC")
            client.delete_session(settings["model"], session.id)
        left = [s.id for s in client.list_sessions(settings["model"]) if s.id in created]
    print(f"Deleted {len(mine)} session(s); {len(left)} left behind.")
    if left:
        sys.exit("Some sessions could not be deleted.")


def main() -> None:
    with ExitStack() as stack:
        settings = connection(stack)
        created: list[str] = []
        try:
            langchain_streaming_chain(settings)
            created.append(langchain_session_memory(settings))
            langchain_agent(settings)
            llama_index_query_engine(settings)
            asyncio.run(llama_index_async(settings))
        finally:
            clean_up(settings, created)
    print("\nDone.")


if __name__ == "__main__":
    main()
