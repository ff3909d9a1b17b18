"""LangChain conformance: the runtime features users wrap a model in."""

from __future__ import annotations

from langchain_core.caches import InMemoryCache
from langchain_core.globals import set_llm_cache
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, trim_messages
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_core.runnables import ConfigurableField

from assisterr_core import ServerError
from assisterr_emulator import EmulatorServer

from ._langchain import HANDLE, model_on
from .conftest import pattern


@pattern("LangChain", "InMemoryCache", "set_llm_cache: a repeated prompt is answered from "
         "the cache, without a request")
def test_in_memory_cache(assisterr_emulator: EmulatorServer) -> None:
    set_llm_cache(InMemoryCache())
    try:
        model = model_on(assisterr_emulator)
        first, again, other = model.invoke("hi"), model.invoke("hi"), model.invoke("bye")
    finally:
        set_llm_cache(None)
    assert first.text == again.text == f"Hello from {HANDLE}! You said: hi"
    assert other.text.endswith("You said: bye")
    assert [r.query for r in assisterr_emulator.chat_requests()] == ["hi", "bye"]


@pattern("LangChain", "with_retry", "a 500 the client does not resend is retried by the "
         "runnable")
def test_with_retry(assisterr_emulator: EmulatorServer) -> None:
    assisterr_emulator.inject(status=500, times=2)
    model = model_on(assisterr_emulator, max_retries=0).with_retry(
        retry_if_exception_type=(ServerError,), stop_after_attempt=3, wait_exponential_jitter=False)
    assert model.invoke("hi").text == f"Hello from {HANDLE}! You said: hi"
    assert len(assisterr_emulator.chat_requests()) == 3


@pattern("LangChain", "with_fallbacks", "a missing SLM (404) falls back to another")
def test_with_fallbacks(assisterr_emulator: EmulatorServer) -> None:
    assisterr_emulator.config.handles = frozenset({HANDLE})
    retired = model_on(assisterr_emulator).bind(model="retired-slm")
    answer = retired.with_fallbacks([model_on(assisterr_emulator)]).invoke("hi")
    assert answer.text == f"Hello from {HANDLE}! You said: hi"
    assert [r.handle for r in assisterr_emulator.chat_requests()] == ["retired-slm", HANDLE]


class ObservedLimiter(InMemoryRateLimiter):
    """langchain-core's limiter, noting how many requests the server had seen each time a
    call got a token."""

    def __init__(self, server: EmulatorServer) -> None:
        super().__init__(requests_per_second=50, check_every_n_seconds=0.005, max_bucket_size=1)
        self.server = server
        self.requests_seen: list[int] = []

    def acquire(self, *, blocking: bool = True) -> bool:
        granted = super().acquire(blocking=blocking)
        self.requests_seen.append(len(self.server.chat_requests()))
        return granted


@pattern("LangChain", "rate_limiter", "each call takes a token from the bucket before its "
         "request goes out")
def test_rate_limiter(assisterr_emulator: EmulatorServer) -> None:
    limiter = ObservedLimiter(assisterr_emulator)
    model = model_on(assisterr_emulator, rate_limiter=limiter)
    answers = [model.invoke(q).text for q in ("one", "two", "three")]
    assert [a.rsplit(" ", 1)[-1] for a in answers] == ["one", "two", "three"]
    assert limiter.requests_seen == [0, 1, 2]


@pattern("LangChain", "configurable_fields", "the SLM chosen per call through the config")
def test_configurable_fields(assisterr_emulator: EmulatorServer) -> None:
    model = model_on(assisterr_emulator).configurable_fields(
        model=ConfigurableField(id="slm", name="SLM handle"))
    assert model.invoke("hi").text.startswith(f"Hello from {HANDLE}!")
    chosen = model.invoke("hi", config={"configurable": {"slm": "other-slm"}})
    assert chosen.text.startswith("Hello from other-slm!")
    assert [r.handle for r in assisterr_emulator.chat_requests()] == [HANDLE, "other-slm"]


@pattern("LangChain", "bind(stop=...)", "stop sequences cut the reply client-side, also "
         "across stream chunks; the API never sees them")
def test_bind_stop(assisterr_emulator: EmulatorServer) -> None:
    stopped = model_on(assisterr_emulator).bind(stop=["!"])
    assert stopped.invoke("hi").text == f"Hello from {HANDLE}"
    assert "".join(chunk.text for chunk in stopped.stream("hi")) == f"Hello from {HANDLE}"
    assert [r.body for r in assisterr_emulator.chat_requests()] == [{"query": "hi"}] * 2


@pattern("LangChain", "trim_messages(token_counter=model)",
         "get_num_tokens_from_messages counts approximately (the SLM's tokenizer is not "
         "published), with no extra package; the trimmed history is sent")
def test_trim_messages_with_the_model_as_token_counter(
    assisterr_emulator: EmulatorServer,
) -> None:
    model = model_on(assisterr_emulator)
    history = [SystemMessage("Be brief."), HumanMessage("Hi, I am Ada. " * 20),
               AIMessage("Hello Ada! " * 20), HumanMessage("Where is Paris?")]
    assert model.get_num_tokens("Where is Paris?") > 0
    total = model.get_num_tokens_from_messages(history)
    assert total > model.get_num_tokens_from_messages(history[-1:]) > 0
    trimmer = trim_messages(max_tokens=total // 2, token_counter=model, strategy="last",
                            include_system=True, start_on="human")
    answer = (trimmer | model).invoke(history)
    assert answer.text == f"Hello from {HANDLE}! You said: Where is Paris?"
    assert assisterr_emulator.chat_requests()[0].query == "Be brief.\n\nWhere is Paris?"


@pattern("LangChain", "a conversation from another model, with reasoning",
         "an earlier AI turn's reasoning blocks (output_version v1, Anthropic thinking) are "
         "not sent; its text is")
def test_a_conversation_with_reasoning_blocks(assisterr_emulator: EmulatorServer) -> None:
    thought = AIMessage(content=[
        {"type": "reasoning", "reasoning": "The user greets me."},
        {"type": "thinking", "thinking": "Be kind.", "signature": "abc"},
        {"type": "redacted_thinking", "data": "xyz"},
        {"type": "text", "text": "Hello Ada!"},
    ])
    reply = model_on(assisterr_emulator).invoke([HumanMessage("Hi, I am Ada."), thought,
                                                 HumanMessage("Where is Paris?")])
    assert reply.text == f"Hello from {HANDLE}! You said: Where is Paris?"
    query = assisterr_emulator.chat_requests()[0].query
    assert "Assistant: Hello Ada!\n" in query and "kind" not in query and "xyz" not in query
