"""Framework floors: the smallest LangChain and LlamaIndex models around a raw request.

Their only work is the raw ``requests`` call, so their cost over raw is the framework's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from llama_index.core.llms import (
    CompletionResponse,
    CompletionResponseGen,
    CustomLLM,
    LLMMetadata,
)
from llama_index.core.llms.callbacks import llm_completion_callback
from pydantic import Field

from .raw import RawAssisterr


class FloorChatModel(BaseChatModel):
    """A ``BaseChatModel`` that posts the last message's text with raw ``requests``."""

    raw: Any = Field(exclude=True)

    @property
    def _llm_type(self) -> str:
        return "floor"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        raw: RawAssisterr = self.raw
        text = raw.post(messages[-1].text)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        raw: RawAssisterr = self.raw
        for delta in raw.deltas(messages[-1].text):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=delta))
            if run_manager:
                run_manager.on_llm_new_token(delta, chunk=chunk)
            yield chunk


class FloorLLM(CustomLLM):
    """A LlamaIndex ``CustomLLM`` that posts the prompt with raw ``requests``."""

    raw: Any = Field(exclude=True)

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="floor")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        raw: RawAssisterr = self.raw
        return CompletionResponse(text=raw.post(prompt))

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        raw: RawAssisterr = self.raw

        def gen() -> CompletionResponseGen:
            text = ""
            for delta in raw.deltas(prompt):
                text += delta
                yield CompletionResponse(text=text, delta=delta)

        return gen()
