"""``ChatAssisterr``: an Assisterr small language model as a LangChain chat model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams
from langchain_core.language_models.chat_models import agenerate_from_stream, generate_from_stream
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.utils import from_env, secret_from_env
from pydantic import ConfigDict, Field, PrivateAttr, SecretStr, field_validator, model_validator
from typing_extensions import Self

from assisterr_core import ClientSettings, QueryTemplate
from assisterr_core.validation import check_identifier

from . import _clients
from ._request import PROVIDER, ChatRequest, merge_stop

if TYPE_CHECKING:
    from assisterr_core import AssisterrClient, AsyncAssisterrClient


class ChatAssisterr(BaseChatModel):
    """Chat with an Assisterr SLM.

    Stateless by default: the conversation is rendered into the one query the API takes
    (a lone human message is sent as is). With ``session_id`` (field, or
    ``invoke(..., session_id=...)``) the server keeps the conversation and only the newest
    human message is sent. ``stop`` sequences are applied client-side. Errors are the
    core's typed errors (``assisterr_core.AuthenticationError``, ``NotFoundError``, ...).

    Example:
        .. code-block:: python

            from langchain_assisterr import ChatAssisterr

            model = ChatAssisterr(model="my-slm")  # key from ASSISTERR_API_KEY
            model.invoke("Hello!")
    """

    model: str = Field(alias="handle_name")
    """Handle name of the SLM (``handle_name`` is accepted too)."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("ASSISTERR_API_KEY", default=None)
    )
    """API key; defaults to ``ASSISTERR_API_KEY``. Checked when a request is made."""
    base_url: str | None = Field(default_factory=from_env("ASSISTERR_BASE_URL", default=None))
    """API root; defaults to ``ASSISTERR_BASE_URL``, else the public service."""
    timeout: float | tuple[float, float] | None = None
    """Seconds to connect and to wait for each read, or ``(connect, read)``."""
    max_retries: int = 2
    """Retries of requests that cannot have reached the model (never a sent chat)."""
    session_id: str | None = None
    """Server-side session to talk in; only the newest human message is then sent."""
    stop: list[str] | None = None
    """Stop sequences, merged with those of each call; the reply is cut before the first."""
    streaming: bool = False
    """Answer ``invoke`` through the streaming endpoint (callbacks get every token).
    ``False`` never turns ``stream()`` off; ``disable_streaming=True`` does."""
    query_template: QueryTemplate | None = Field(default=None, exclude=True)
    """Renders a stateless conversation into the query; default: a readable transcript.
    ``assisterr_core.Llama3Template()`` gives Llama-3 headers."""

    _settings: ClientSettings = PrivateAttr()
    _client: AssisterrClient = PrivateAttr()

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("session_id")
    @classmethod
    def _check_session_id(cls, value: str | None) -> str | None:
        return None if value is None else check_identifier(value, "session_id")

    @model_validator(mode="after")
    def _build_clients(self) -> Self:
        # langchain-core reads an explicit ``streaming=False`` as "never stream", and
        # ``configurable_fields`` passes every field explicitly: keep False the default.
        if not self.streaming:
            self.model_fields_set.discard("streaming")
        self._settings = _clients.resolve_settings(
            api_key=self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            max_retries=self.max_retries,
        )
        self._client = _clients.sync_client(self._settings)
        return self

    @property
    def _async_client(self) -> AsyncAssisterrClient:
        return _clients.async_client(self._settings)

    @property
    def _llm_type(self) -> str:
        return "assisterr-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "ASSISTERR_API_KEY"}

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        return {
            "model": self.model,
            "base_url": self._settings.base_url,
            "session_id": self.session_id,
            "stop": self.stop,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=kwargs.get("model") or self.model,
            ls_model_type="chat",
        )
        if merged := merge_stop(self.stop, stop):
            params["ls_stop"] = merged
        return params

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> ChatRequest:
        """Per-call ``model=`` and ``session_id=`` override the fields; stops are merged."""
        return ChatRequest.build(
            messages,
            handle=kwargs.get("model") or self.model,
            session_id=kwargs.get("session_id", self.session_id),
            template=self.query_template,
            stop=merge_stop(self.stop, stop),
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        request = self._request(messages, stop, kwargs)
        reply = self._client.chat(request.handle, request.query, session_id=request.session_id)
        return request.result(reply)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return await agenerate_from_stream(
                self._astream(messages, stop, run_manager, **kwargs)
            )
        request = self._request(messages, stop, kwargs)
        reply = await self._async_client.chat(
            request.handle, request.query, session_id=request.session_id
        )
        return request.result(reply)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)
        assembler = request.chunks()
        deltas = self._client.stream(request.handle, request.query, session_id=request.session_id)
        try:
            for delta in deltas:
                chunk = assembler.feed(delta)
                if chunk is not None:
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
                if assembler.stopped:
                    break
        finally:
            _close(deltas)
        chunk = assembler.finish()
        if run_manager:
            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)
        assembler = request.chunks()
        deltas = self._async_client.stream(
            request.handle, request.query, session_id=request.session_id
        )
        try:
            async for delta in deltas:
                chunk = assembler.feed(delta)
                if chunk is not None:
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
                if assembler.stopped:
                    break
        finally:
            await _aclose(deltas)
        chunk = assembler.finish()
        if run_manager:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk


def _close(iterator: Iterator[str]) -> None:
    """Release the stream's connection at once (also when we stop reading early)."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


async def _aclose(iterator: AsyncIterator[str]) -> None:
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()
