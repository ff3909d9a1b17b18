"""``Assisterr``: an Assisterr small language model as a LlamaIndex ``LLM``.

Every method is native: the sync ones on the ``requests`` client, the async ones on the
``aiohttp`` client (imported on first async use). What does no I/O (building the query,
cutting at stop sequences, shaping responses) lives in ``_messages`` and ``_responses``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
)
from llama_index.core.bridge.pydantic import BaseModel, Field, PrivateAttr, SecretStr
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS

# re-exported by llama-index-core without __all__
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.llm import LLM
from llama_index.core.prompts import BasePromptTemplate
from llama_index.core.types import BasePydanticProgram, PydanticProgramMode

from assisterr_core import ChatReply, ClientSettings, QueryTemplate, transcript_template
from assisterr_core.settings import TimeoutLike
from assisterr_core.stop import acut_stream, cut_stream
from assisterr_core.sync_client import AssisterrClient
from assisterr_core.tools import JSON_PROTOCOL

from ._messages import chat_query, completion_query
from ._responses import (
    aresponses,
    chat_chunk,
    chat_response,
    completion_chunk,
    completion_response,
    responses,
)
from ._structured import JsonAnswerParser, astream_answers, json_program, stream_answers

if TYPE_CHECKING:
    from assisterr_core.async_client import AsyncAssisterrClient

ENV_API_KEY = "ASSISTERR_API_KEY"
Model = TypeVar("Model", bound=BaseModel)
dispatcher = get_dispatcher(__name__)


@dataclass(frozen=True)
class _Ask:
    """One call, ready to send: the query, the session (if any) and the stop sequences."""

    query: str
    session_id: str | None
    stop: list[str] | None


class Assisterr(LLM):
    """An Assisterr SLM, addressed by its handle name, for LlamaIndex.

    Stateless by default: chat calls render the whole conversation into one query. With
    ``session_id`` (a field, or a per-call keyword) the server keeps the user and assistant
    turns, so only the system text (system messages, ``system_prompt``, a chat engine's
    retrieved context) and the newest user message are sent, rendered through
    ``query_template`` (the message alone, as is, when there is no system text). A ``stop``
    keyword cuts replies client-side. Connection settings (key, URL, timeout, retries) are
    fixed when the instance is built; clients may be injected with ``client=`` and
    ``async_client=``.

    ``structured_predict`` and its async and streaming forms ask for a JSON answer with the
    core's protocol (``json_prompt_template``) and read it forgivingly.

    Not a ``FunctionCallingLLM``, on purpose: the API has no tool calls, only text, so
    agents use ``ReActAgent``. ReAct is a text protocol LlamaIndex parses itself and, when
    an SLM gets the format wrong, it sends the error back and asks again; a
    ``FunctionAgent`` reads a malformed call as the final answer. Marking the model as
    function-calling would also switch LlamaIndex's defaults (``AgentWorkflow``,
    ``predict_and_call``, structured outputs) to that less forgiving path.

    Example:
        ``llm = Assisterr(model="my-slm")`` with ``ASSISTERR_API_KEY`` set, then
        ``llm.complete("Hello")``.
    """

    model: str = Field(description="The SLM's handle name.")
    api_key: SecretStr | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description=f"The API key; read from {ENV_API_KEY} when not given.",
    )
    base_url: str = Field(
        default="", description="The API root; from ASSISTERR_BASE_URL, else the public API."
    )
    timeout: TimeoutLike = Field(
        default=120.0,
        description="Seconds to wait for each read (a reply, or a stream's next chunk), a "
        "(connect, read) or (connect, read, total) tuple, or an assisterr_core.Timeout; "
        "checked like the core client's.",
    )
    max_retries: int = Field(default=2, ge=0, description="Retries on transient failures.")
    session_id: str | None = Field(
        default=None, description="A server-side session: send only the system text and the newest "
        "user message."
    )
    query_template: QueryTemplate = Field(
        default=transcript_template,
        exclude=True,
        description="Renders a conversation into one query (e.g. Llama3Template()).",
    )
    json_prompt_template: str = Field(
        default=JSON_PROTOCOL,
        description="Asks for a JSON answer in structured_predict; a str.format template "
        "with {schema}.",
    )
    context_window: int = Field(default=DEFAULT_CONTEXT_WINDOW, gt=0)
    num_output: int = Field(default=DEFAULT_NUM_OUTPUTS, gt=0)

    _settings: ClientSettings | None = PrivateAttr(default=None)
    _client: AssisterrClient | None = PrivateAttr(default=None)
    _async_client: AsyncAssisterrClient | None = PrivateAttr(default=None)
    _owns_client: bool = PrivateAttr(default=True)

    def __init__(
        self,
        model: str,
        *,
        api_key: str | SecretStr | None = None,
        client: AssisterrClient | None = None,
        async_client: AsyncAssisterrClient | None = None,
        **kwargs: Any,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        key = key or os.environ.get(ENV_API_KEY) or None
        settings = ClientSettings.resolve(
            api_key=key,
            base_url=kwargs.pop("base_url", None) or None,
            timeout=kwargs.get("timeout"),
            max_retries=kwargs.get("max_retries"),
        )
        fields: dict[str, Any] = {
            "model": model,
            "api_key": SecretStr(key) if key else None,
            "base_url": settings.base_url,
        }
        super().__init__(**fields, **kwargs)
        self._settings = settings
        self._client = client
        self._async_client = async_client
        self._owns_client = client is None

    @classmethod
    def class_name(cls) -> str:
        return "Assisterr_LLM"

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.num_output,
            is_chat_model=True,
            is_function_calling_model=False,
            model_name=self.model,
        )

    # -- clients: built once, on first use, from one settings object ---------------------

    @property
    def client(self) -> AssisterrClient:
        """The sync client (created on first use unless one was injected)."""
        if self._client is None:
            self._client = AssisterrClient(settings=self._client_settings())
        return self._client

    @property
    def async_client(self) -> AsyncAssisterrClient:
        """The async client (created on first use; it imports aiohttp)."""
        if self._async_client is None:
            from assisterr_core.async_client import AsyncAssisterrClient

            self._async_client = AsyncAssisterrClient(settings=self._client_settings())
        return self._async_client

    def _client_settings(self) -> ClientSettings:
        if self._settings is None:
            key = self.api_key.get_secret_value() if self.api_key else None
            self._settings = ClientSettings.resolve(
                api_key=key,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        return self._settings

    # -- completion ----------------------------------------------------------------------

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        ask = self._completion_ask(prompt, formatted, kwargs)
        return completion_response(self._send(ask), ask.stop)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        ask = self._completion_ask(prompt, formatted, kwargs)
        return responses(self._stream(ask), completion_chunk)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        ask = self._completion_ask(prompt, formatted, kwargs)
        return completion_response(await self._asend(ask), ask.stop)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        ask = self._completion_ask(prompt, formatted, kwargs)
        # The decorator needs a coroutine returning an async generator, not a generator.
        return aresponses(self._astream(ask), completion_chunk)

    # -- chat ----------------------------------------------------------------------------

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        ask = self._chat_ask(messages, kwargs)
        return chat_response(self._send(ask), ask.stop)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        ask = self._chat_ask(messages, kwargs)
        return responses(self._stream(ask), chat_chunk)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        ask = self._chat_ask(messages, kwargs)
        return chat_response(await self._asend(ask), ask.stop)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        ask = self._chat_ask(messages, kwargs)
        return aresponses(self._astream(ask), chat_chunk)

    # -- structured outputs: the core's JSON protocol -----------------------------------

    @dispatcher.span
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        program = self._started_program(output_cls, prompt, prompt_args)
        return _ended(program(llm_kwargs=llm_kwargs, **prompt_args), output_cls)

    @dispatcher.span
    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        program = self._started_program(output_cls, prompt, prompt_args)
        return _ended(await program.acall(llm_kwargs=llm_kwargs, **prompt_args), output_cls)

    def _structured_stream_call(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        if not self._json_mode:
            program = self._structured_program(output_cls, prompt)
            return program.stream_call(llm_kwargs=llm_kwargs, **prompt_args)
        parser, messages = self._json_request(output_cls, prompt, prompt_args)
        return stream_answers(parser, self.stream_chat(messages, **(llm_kwargs or {})))

    async def _structured_astream_call(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        if not self._json_mode:
            program = self._structured_program(output_cls, prompt)
            return await program.astream_call(llm_kwargs=llm_kwargs, **prompt_args)
        parser, messages = self._json_request(output_cls, prompt, prompt_args)
        return astream_answers(parser, await self.astream_chat(messages, **(llm_kwargs or {})))

    @property
    def _json_mode(self) -> bool:
        """Structured outputs use our JSON protocol (LlamaIndex's default modes)."""
        return self.pydantic_program_mode in (PydanticProgramMode.DEFAULT,
                                              PydanticProgramMode.LLM)

    def _structured_program(
        self, output_cls: type[Model], prompt: BasePromptTemplate
    ) -> BasePydanticProgram[Model]:
        """Our JSON program in the default modes; another mode gets LlamaIndex's own."""
        if self._json_mode:
            return json_program(self, output_cls, prompt, self.json_prompt_template)
        from llama_index.core.program.utils import get_program_for_llm

        return get_program_for_llm(output_cls, prompt, self, self.pydantic_program_mode)

    def _json_request(
        self, output_cls: type[Model], prompt: BasePromptTemplate, prompt_args: dict[str, Any]
    ) -> tuple[JsonAnswerParser, list[ChatMessage]]:
        """The JSON protocol's parser and the chat messages asking for the answer, as the
        JSON program builds them (the caller's prompt is not mutated)."""
        parser = JsonAnswerParser(output_cls, self.json_prompt_template)
        prompt = prompt.model_copy()
        prompt.output_parser = parser
        return parser, self._extend_messages(prompt.format_messages(llm=self, **prompt_args))

    def _started_program(
        self, output_cls: type[Model], prompt: BasePromptTemplate, prompt_args: dict[str, Any]
    ) -> BasePydanticProgram[Model]:
        dispatcher.event(LLMStructuredPredictStartEvent(
            output_cls=output_cls, template=prompt, template_args=prompt_args
        ))
        return self._structured_program(output_cls, prompt)

    # -- shared, no I/O ------------------------------------------------------------------

    def _completion_ask(self, prompt: str, formatted: bool, kwargs: dict[str, Any]) -> _Ask:
        """``formatted`` prompts (from ``predict`` and friends) are sent as they are."""
        if not formatted:
            if self.completion_to_prompt is not None:
                prompt = self.completion_to_prompt(prompt)
            prompt = completion_query(prompt, self.query_template, system_prompt=self.system_prompt)
        return _Ask(prompt, *self._call_options(kwargs))

    def _chat_ask(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> _Ask:
        session_id, stop = self._call_options(kwargs)
        query = chat_query(
            messages, self.query_template,
            system_prompt=self.system_prompt, in_session=session_id is not None,
        )
        return _Ask(query, session_id, stop)

    def _call_options(self, kwargs: dict[str, Any]) -> tuple[str | None, list[str] | None]:
        session_id = kwargs.get("session_id", self.session_id)
        stop = kwargs.get("stop")
        return session_id, [stop] if isinstance(stop, str) else stop

    # -- I/O -----------------------------------------------------------------------------

    def _send(self, ask: _Ask) -> ChatReply:
        return self.client.chat(self.model, ask.query, session_id=ask.session_id)

    def _stream(self, ask: _Ask) -> Iterator[str]:
        deltas = self.client.stream(self.model, ask.query, session_id=ask.session_id)
        return cut_stream(deltas, ask.stop) if ask.stop else deltas

    async def _asend(self, ask: _Ask) -> ChatReply:
        return await self.async_client.chat(self.model, ask.query, session_id=ask.session_id)

    def _astream(self, ask: _Ask) -> AsyncIterator[str]:
        deltas = self.async_client.stream(self.model, ask.query, session_id=ask.session_id)
        return acut_stream(deltas, ask.stop) if ask.stop else deltas

    def close(self) -> None:
        """Release the sync client's pooled connections (an injected client is left open)."""
        if self._client is not None and self._owns_client:
            self._client.close()


def _ended(result: object, output_cls: type[Model]) -> Model:
    """The program's answer, checked and announced like LlamaIndex's own methods do."""
    if not isinstance(result, output_cls):
        raise TypeError(f"structured_predict expected a {output_cls.__name__}, got {result!r}")
    dispatcher.event(LLMStructuredPredictEndEvent(output=result))
    return result
