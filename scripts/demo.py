"""The demo: both integrations, live, against the local server or the real Assisterr API.

With ``ASSISTERR_API_KEY`` set it talks to the real API (``ASSISTERR_HANDLE_NAME`` names
the SLM, ``ASSISTERR_BASE_URL`` overrides the URL); without it, it starts the bundled local
Assisterr-compatible server and says so. It leaves no session behind. Each step that fails
prints one line (the error and a hint) and the exit status is 1; ``--verbose`` adds the
traceback. Run ``python3 scripts/run.py demo --help`` for the options.
"""

from __future__ import annotations

import asyncio
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit

from demo_options import parse_demo_args

try:  # the frameworks take seconds to load: Ctrl-C meanwhile ends the demo quietly
    from langchain.agents import create_agent
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.tools import tool
    from llama_index.core import Document, VectorStoreIndex
    from llama_index.core.embeddings import MockEmbedding

    from assisterr_core import (
        APIConnectionError,
        AssisterrClient,
        AssisterrError,
        AuthenticationError,
        ClientSettings,
        InvalidRequestError,
        NotFoundError,
        RateLimitError,
        ServerError,
    )
    from assisterr_emulator import EmulatorServer
    from langchain_assisterr import AssisterrChatMessageHistory, ChatAssisterr
    from llama_index_assisterr import Assisterr
except KeyboardInterrupt:
    sys.exit(130)

DOCUMENTS = [
    "Assisterr hosts small language models (SLMs), each addressed by a handle name.",
    "An Assisterr session keeps a conversation on the server: every turn is recorded.",
    "The Assisterr API takes one query string per request and answers with text.",
]
Settings = dict[str, str]
INTERRUPTED = 130  # the shell's status for a command stopped by Ctrl-C


class Steps:
    """Runs the demo's steps: a failed one prints one line and a hint, never a traceback
    (unless verbose); after a failure that every later step would repeat (a refused key, an
    unreachable API, an unknown SLM) the remaining API steps are skipped."""

    def __init__(self, settings: Settings, *, verbose: bool, color: bool) -> None:
        self.settings = settings
        self.verbose = verbose
        self.color = color
        self.failed: list[str] = []
        self.blocked_by: str | None = None

    def title(self, text: str) -> None:
        shown = f"\033[1m== {text}\033[0m" if self.color else f"== {text}"
        print(f"\n{shown}", flush=True)

    def run(self, title: str, step: Callable[[Settings], Any], *, always: bool = False) -> Any:
        self.title(title)
        if self.blocked_by and not always:
            print(f"skipped: {self.blocked_by}", flush=True)
            return None
        try:
            return step(self.settings)
        except KeyboardInterrupt:  # not a failure: the clean-up still runs, then the demo ends
            print("\ninterrupted", flush=True)
            raise
        except Exception as error:
            self.report(title, error)
            return None

    def report(self, title: str, error: BaseException) -> None:
        self.failed.append(title)
        message = " ".join(str(error).split()) or "(no message)"
        line = f"FAILED: {type(error).__name__}: {message}"
        hint = hint_for(error, self.settings)
        if hint:
            line += f" -- {hint}"
        print(f"\n{line}", flush=True)
        if self.verbose:
            traceback.print_exception(error)
        if isinstance(error, AuthenticationError | APIConnectionError | NotFoundError):
            self.blocked_by = f"the SLM cannot be used ({type(error).__name__} above)"


def hint_for(error: BaseException, settings: Settings) -> str:
    """Where to look: the key's source, the URL that could not be reached, the handle."""
    url = settings.get("base_url") or os.environ.get("ASSISTERR_BASE_URL") or (
        "https://api.assisterr.ai")
    if isinstance(error, AuthenticationError):
        return ("the API refused the key: it comes from ASSISTERR_API_KEY; check that it is "
                "a valid Assisterr API key")
    if isinstance(error, APIConnectionError):
        if urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"):
            return (f"nothing answers at {url}: start the local server there "
                    "(assisterr-emulator), or run the demo with --local to let it start its own")
        return f"could not reach {url}: check the network, or ASSISTERR_BASE_URL"
    if isinstance(error, NotFoundError):
        return (f"check that ASSISTERR_HANDLE_NAME ({settings.get('model')!r}) names an SLM "
                "your key can use")
    if isinstance(error, RateLimitError):
        return "the API is rate limiting this key: wait a little and run the demo again"
    if isinstance(error, ServerError):
        return "the service failed: try again later"
    if isinstance(error, AssisterrError):
        return ""
    return "unexpected: run with --verbose for the traceback"


def connection(stack: ExitStack, *, local: bool) -> Settings:
    """Where to talk: the real API when a key is set, else a local server started here."""
    if os.environ.get("ASSISTERR_API_KEY") and not local:
        handle = os.environ.get("ASSISTERR_HANDLE_NAME")
        if not handle:
            sys.exit("Set ASSISTERR_HANDLE_NAME to the handle of the SLM to talk to "
                     "(or run the demo with --local).")
        try:  # a setting every step would trip on: said once, before the steps
            ClientSettings.resolve()
        except InvalidRequestError as error:
            sys.exit(f"{error}\n(the demo reads ASSISTERR_API_KEY and ASSISTERR_BASE_URL; "
                     "--local uses the bundled local server instead)")
        print(f"Using the Assisterr API at {os.environ.get('ASSISTERR_BASE_URL', 'the public URL')}"
              f" with the SLM '{handle}'.")
        return {"model": handle}
    server = stack.enter_context(EmulatorServer(chunk_delay=0.04))
    print("No ASSISTERR_API_KEY set: started the bundled local Assisterr-compatible server at "
          f"{server.base_url} (set ASSISTERR_API_KEY and ASSISTERR_HANDLE_NAME for the real API)."
          if not local else f"--local: started the bundled local server at {server.base_url}.")
    return {"model": "demo-slm", "base_url": server.base_url, "api_key": server.api_key}


def langchain_streaming_chain(settings: Settings) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You answer in one short sentence."), ("human", "{question}")]
    )
    chain = prompt | ChatAssisterr(**settings) | StrOutputParser()
    for token in chain.stream({"question": "What is a small language model?"}):
        print(token, end="", flush=True)
    print()


def langchain_session_memory(settings: Settings, created: list[str]) -> None:
    history = AssisterrChatMessageHistory(**settings)
    created.append(history.session_id)
    model = ChatAssisterr(**settings, session_id=history.session_id)
    for question in ("What is the capital of France?", "What was my first question?"):
        print(f"you> {question}")
        answer = model.invoke(question)
        print(f"slm> {answer.content}")
    print(f"The server recorded {len(history.messages)} messages in session "
          f"{history.session_id}.")


def langchain_agent(settings: Settings) -> None:
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


def llama_index_query_engine(settings: Settings) -> None:
    index = VectorStoreIndex.from_documents(
        [Document(text=text) for text in DOCUMENTS], embed_model=MockEmbedding(embed_dim=16)
    )
    engine = index.as_query_engine(llm=Assisterr(**settings), streaming=True,
                                   similarity_top_k=len(DOCUMENTS))
    response = engine.query("How many query strings does one Assisterr request take?")
    for token in response.response_gen:
        print(token, end="", flush=True)
    print()


def llama_index_async(settings: Settings) -> None:
    async def three() -> list[Any]:
        llm = Assisterr(**settings)
        return await asyncio.gather(*(llm.acomplete(f"Say {n}") for n in ("one", "two", "three")))

    for answer in asyncio.run(three()):
        print(f"slm> {answer.text}")


def clean_up(settings: Settings, created: list[str]) -> None:
    if not created:
        print("No session was created.")
        return
    options = {k: v for k, v in settings.items() if k != "model"}
    with AssisterrClient(**options) as client:
        mine = [s for s in client.list_sessions(settings["model"]) if s.id in created]
        for session in mine:
            stamp = f"{session.created_at:%Y-%m-%d %H:%M:%S} UTC" if session.created_at else "?"
            print(f"session {session.id} created {stamp}")
            client.delete_session(settings["model"], session.id)
        left = [s.id for s in client.list_sessions(settings["model"]) if s.id in created]
    print(f"Deleted {len(mine)} session(s); {len(left)} left behind.")
    if left:
        raise RuntimeError(f"{len(left)} session(s) could not be deleted: {', '.join(left)}")


def main(argv: list[str] | None = None) -> int:
    args = parse_demo_args(argv)
    warnings.filterwarnings("once", category=UserWarning)  # a settings warning once, not per step
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    with ExitStack() as stack:
        settings = connection(stack, local=args.local)
        steps = Steps(settings, verbose=args.verbose, color=color)
        created: list[str] = []
        try:
            steps.run("LangChain: an LCEL chain, tokens printed as they arrive",
                      langchain_streaming_chain)
            steps.run("LangChain: a server-side session that remembers",
                      lambda s: langchain_session_memory(s, created))
            steps.run("LangChain: an agent calling a tool (tools travel in the query, the "
                      "reply is parsed)", langchain_agent)
            steps.run("LlamaIndex: a query engine over three bundled documents, answer "
                      "streamed", llama_index_query_engine)
            steps.run("LlamaIndex: three async completions at once", llama_index_async)
        finally:  # clean-up reports its own failure on its own line: it never hides the cause
            steps.run("Sessions: list what this demo created, then delete it",
                      lambda s: clean_up(s, created), always=True)
    if steps.failed:
        print(f"\n{len(steps.failed)} step(s) failed: {'; '.join(steps.failed)}.", flush=True)
        return 1
    print("\nDone.")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nInterrupted (Ctrl-C).", flush=True)
        sys.exit(INTERRUPTED)
