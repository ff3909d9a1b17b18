"""``ChatAssisterr``: an Assisterr small language model as a LangChain chat model."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import (
    BaseChatModel,
    LangSmithParams,
    LanguageModelInput,
    ModelProfile,
)
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.prompt_values import PromptValue
from pydantic import (
    AliasChoices,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
)

from assisterr_core import InvalidRequestError, QueryTemplate
from assisterr_core.chat import (
    JSON_PROMPT_TEMPLATE,
    TOOL_PROMPT_TEMPLATE,
    sampling_arguments,
    stop_sequences,
    tool_choice_name,
)
from assisterr_core.transport import (
    DEFAULT_MAX_RETRIES,
    ENV_API_KEY,
    SettingsFields,
    SharedClients,
    TimeoutLike,
    TravelsAsSettings,
    Verify,
    check_identifier,
    detached,
)

from ._arguments import MODEL_NAMES, checked_arguments, warn_ignored
from ._profile import assisterr_profile
from ._request import PROVIDER, ChatRequest, StreamAssembler, merge_stop
from ._tools import CallInstructions

CHARS_PER_TOKEN = 4.0
"""The token counts' rule of thumb (langchain-core's approximate counter's default)."""

if TYPE_CHECKING:
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

    from assisterr_core import AssisterrClient, AsyncAssisterrClient

    from ._structured import StructuredMethod


class ChatAssisterr(TravelsAsSettings, BaseChatModel):
    """Chat with an Assisterr small language model (SLM).

    The Assisterr API takes one query string and answers text. The conversation is rendered
    into that query (a lone human message is sent as it is), stop sequences are cut
    client-side, and tools and structured output travel as instructions in the query, read
    back from the reply: they are as good as the SLM is at following them. Errors are the
    core's typed errors (`assisterr_core.AuthenticationError`, `NotFoundError`, ...).

    ???+ info "Setup"

        Install the package with its LangChain extra and set `ASSISTERR_API_KEY` (and
        `ASSISTERR_BASE_URL` for another server, such as the local one of
        `assisterr_emulator`, which every example below runs against in the tests).

        ```bash
        pip install -U "assisterr-integrations[langchain]"
        export ASSISTERR_API_KEY="your-api-key"
        ```

    ??? info "Key init args — model params"

        | Param | Description |
        | --- | --- |
        | `model` | Handle name (or `model_name`, `handle_name`); else `ASSISTERR_HANDLE_NAME`. |
        | `session_id` | A server-side session, where the server keeps the turns. |
        | `stop` | Stop sequences, merged with each call's, cut client-side. |
        | `streaming` | True: `invoke` streams too (callbacks get every token). |
        | `query_template` | Renders the conversation (default: a transcript). |
        | `tool_prompt_template` | The instructions that offer bound tools. |
        | `json_prompt_template` | The instructions that ask for a JSON answer. |

        Sampling controls of other providers (`temperature`, `max_tokens`, ...) are accepted
        with an `IgnoredParameterWarning`: the API has none. Any other unknown argument is
        refused, with the name it resembles.

    ??? info "Key init args — client params"

        | Param | Description |
        | --- | --- |
        | `api_key` | Read from `ASSISTERR_API_KEY` if not given. |
        | `base_url` | Read from `ASSISTERR_BASE_URL`, else the public service. |
        | `timeout` | Seconds, `(connect, read)` or `(connect, read, total)`. |
        | `max_retries` | Retries of requests that cannot have reached the model (2). |
        | `max_connections` | The connection pool's size (100). |
        | `proxy` | A proxy URL (default: the environment's, read at each request). |
        | `verify` | TLS: True, a CA bundle path, an `ssl.SSLContext`, or False. |
        | `client` | Your own `AssisterrClient` (never closed by the model). |
        | `async_client` | Your own `AsyncAssisterrClient`, likewise. |

        Without `client` and `async_client`, models with equal settings share their clients.

    ??? info "Instantiate"

        ```python
        from langchain_assisterr import ChatAssisterr

        model = ChatAssisterr(
            model="my-slm",
            timeout=(10, 120),
            max_retries=2,
            # api_key="...",  # else ASSISTERR_API_KEY
        )
        ```

    ??? info "Invoke"

        ```python
        messages = [
            ("system", "You are a helpful translator. Translate the user sentence to French."),
            ("human", "I love programming."),
        ]
        model.invoke(messages)
        ```

        ```txt
        AIMessage(content="J'adore la programmation.", response_metadata={...})
        ```

    ??? info "Stream"

        ```python
        for chunk in model.stream(messages):
            print(chunk.text, end="")
        ```

        With tools bound or a JSON answer asked for, the reply is held back and comes as one
        last chunk, parsed: equal to what `invoke` returns. Should the stream fail, the text
        received reaches you before the error (a reply held back whole does not: it is only
        read once it has ended).

    ??? info "Async"

        ```python
        await model.ainvoke(messages)

        async for chunk in model.astream(messages):
            print(chunk.text, end="")

        await model.abatch([messages])
        ```

    ??? info "Tool calling"

        ```python
        from pydantic import BaseModel, Field


        class GetWeather(BaseModel):
            '''Get the current weather in a given location.'''

            location: str = Field(description="The city, e.g. Paris")


        model_with_tools = model.bind_tools([GetWeather])
        ai_msg = model_with_tools.invoke("What is the weather like in Paris?")
        ai_msg.tool_calls
        ```

        ```txt
        [{'name': 'GetWeather', 'args': {'location': 'Paris'}, 'id': 'call_...',
          'type': 'tool_call'}]
        ```

        `tool_choice` takes "auto", "any"/"required", a tool's name, True (the only tool) or
        "none"; the SLM is asked, not forced. A call to an unknown tool, or with arguments off
        the schema, goes to `invalid_tool_calls`, and stays there when chunks are added (as
        LangGraph does). In a session, the instructions are sent with the turns since the
        model's last reply (the new message, or the tool results).

    ??? info "Structured output"

        ```python
        class Joke(BaseModel):
            '''A joke to tell the user.'''

            setup: str = Field(description="The setup of the joke")
            punchline: str = Field(description="The punchline")


        structured_model = model.with_structured_output(Joke)
        structured_model.invoke("Tell me a joke about cats")
        ```

        ```txt
        Joke(setup='Why was the cat sitting on the computer?',
             punchline='To keep an eye on the mouse!')
        ```

        `method` is "json_schema" (default), "json_mode" or "function_calling". A
        `response_format` bound or passed to a call (OpenAI's shapes, a pydantic model or a
        JSON schema) asks for a JSON answer too; the message then holds that JSON alone, as
        `ProviderStrategy` expects.

    ??? info "A conversation kept on the server"

        ```python
        from langchain_assisterr import AssisterrChatMessageHistory

        history = AssisterrChatMessageHistory.from_chat_model(model)  # opens a session
        model.invoke("My name is Ann.", session_id=history.session_id)
        model.invoke("What was my first question?", session_id=history.session_id)
        [message.text for message in history.messages]
        ```

        In a session only the system text and the newest human message are sent: the
        server already holds the earlier turns.

    ??? info "Response metadata"

        ```python
        ai_msg = model.invoke(messages)
        ai_msg.response_metadata
        ```

        ```txt
        {'model_provider': 'assisterr', 'model_name': 'my-slm', 'finish_reason': 'stop',
         'message_at': '2025-01-31T12:00:00.123456+00:00'}
        ```

        The API reports no token usage: messages carry no `usage_metadata`. `profile` says
        what the SLM can do through this class: text only, tools and structured output.
    """

    model: str = Field(validation_alias=AliasChoices(*MODEL_NAMES))
    """Handle name of the SLM (also taken as ``model_name``, like ChatOpenAI, or
    ``handle_name``, the API's word); defaults to ``ASSISTERR_HANDLE_NAME`` (read when the
    model is built)."""
    api_key: SecretStr | None = None
    """API key; defaults to ``ASSISTERR_API_KEY`` (read when the model is built). Checked
    when a request is made."""
    base_url: str | None = None
    """API root; defaults to ``ASSISTERR_BASE_URL``, else the public service."""
    timeout: TimeoutLike | None = None
    """Seconds to wait for each read, ``(connect, read)``, ``(connect, read, total)`` or an
    ``assisterr_core.Timeout``; ``total`` bounds a whole call, a stream included."""
    max_retries: int = DEFAULT_MAX_RETRIES
    """Retries of requests that cannot have reached the model (never a sent chat)."""
    max_connections: int | None = None
    """Connections pooled for sync calls and per event loop (default 100)."""
    proxy: str | None = Field(default=None, exclude=True, repr=False)
    """A proxy URL for every request. Default: the environment's (``HTTPS_PROXY``,
    ``ALL_PROXY``, ``NO_PROXY``, ...), read at each request."""
    verify: Verify = Field(default=True, exclude=True, repr=False)
    """TLS verification: True (the system's CAs, or ``REQUESTS_CA_BUNDLE``), the path of a CA
    bundle, an ``ssl.SSLContext``, or False (tests only)."""
    client: Any = Field(default=None, exclude=True, repr=False)
    """An ``assisterr_core.AssisterrClient`` to use for sync calls instead of the one shared
    by models with the same settings. Yours: the model never closes it."""
    async_client: Any = Field(default=None, exclude=True, repr=False)
    """An ``assisterr_core.AsyncAssisterrClient`` for async calls, likewise."""
    session_id: str | None = None
    """Server-side session to talk in; only the system text and the newest human message
    are then sent."""
    stop: list[str] | None = None
    """Stop sequences (a string is one), merged with those of each call (likewise); the
    reply is cut before the first."""
    streaming: bool | None = None
    """True: answer ``invoke`` through the streaming endpoint (callbacks get every token).
    None (default): ``invoke`` does not, ``stream()`` does. False: langchain-core's
    opt-out, ``stream()`` too yields the whole reply as one chunk (like ChatOpenAI's)."""
    query_template: QueryTemplate | None = Field(default=None, exclude=True)
    """Renders a stateless conversation into the query; default: a readable transcript.
    ``assisterr_core.Llama3Template()`` gives Llama-3 headers."""
    tool_prompt_template: str = TOOL_PROMPT_TEMPLATE
    """Instructions for bound tools: a ``str.format`` template with ``{tools}`` (the
    listing), ``{choice}`` (the tool-choice sentence) and optionally ``{calls}`` (several
    calls at once, or one); double literal braces. Replies are
    read forgivingly, but the template should still ask for ``{"tool_calls": [...]}``."""
    json_prompt_template: str = JSON_PROMPT_TEMPLATE
    """Instructions of ``with_structured_output``: a ``str.format`` template with
    ``{schema}`` (the JSON schema)."""

    _clients: SharedClients | None = PrivateAttr(default=None)

    # Validation errors never echo the input; the key reaches pydantic as a SecretStr.
    model_config = ConfigDict(populate_by_name=True, hide_input_in_errors=True)

    def __init__(self, **data: Any) -> None:
        """Arguments and connection settings are checked before pydantic sees them (the
        environment fills what is left out); a refusal is an ``InvalidRequestError``, or
        pydantic's ``ValidationError`` for a field of the wrong type."""
        refusal = self._build(data)
        if refusal is not None:
            data.clear()  # the refusal's traceback shows this frame: it must not hold the key
            raise refusal

    def _build(self, data: dict[str, Any]) -> Exception | None:
        """Initialise the model from ``data``; the error to raise if it cannot be, detached
        from the frames that saw the key."""
        try:
            values = checked_arguments("ChatAssisterr", data, _known_arguments(type(self)))
            clients = SharedClients.connect(
                client=values.get("client"), async_client=values.get("async_client"),
                **_settings_fields(values),
            )
            key = clients.settings.api_key.get_secret_value()
            values.update(api_key=SecretStr(key) if key else None,
                          base_url=clients.settings.base_url)
            super().__init__(**values)
        except (InvalidRequestError, ValidationError) as error:
            return detached(error)
        self._clients = clients
        return None

    @field_validator("session_id")
    @classmethod
    def _check_session_id(cls, value: str | None) -> str | None:
        return None if value is None else check_identifier(value, "session_id")

    @field_validator("stop", mode="before")
    @classmethod
    def _check_stop(cls, value: object) -> list[str] | None:
        return None if value is None else stop_sequences(value)


    def _connection(self) -> SharedClients:
        """The clients this model uses (from its fields if it was made without
        ``__init__``, as ``model_construct`` does)."""
        if self._clients is None:
            self._clients = SharedClients.connect(
                client=self.client, async_client=self.async_client,
                **_settings_fields(dict(self)),
            )
        return self._clients

    @property
    def _client(self) -> AssisterrClient:
        return self._connection().client

    @property
    def _async_client(self) -> AsyncAssisterrClient:
        return self._connection().async_client

    def close(self) -> None:
        """Release the connections of the clients this model uses: a client shared with
        other models stays open while they use it, a given one is never closed. Calls after
        this open new connections."""
        self._connection().close()

    async def aclose(self) -> None:
        """:meth:`close`, closing the running loop's connections before it returns."""
        await self._connection().aclose()

    @property
    def _llm_type(self) -> str:
        return "assisterr-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": ENV_API_KEY}

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        return {
            "model": self.model,
            "base_url": self._connection().settings.base_url,
            "session_id": self.session_id,
            "stop": self.stop,
        }

    @property
    def model_name(self) -> str:
        """The SLM's handle name (``model``), under ChatOpenAI's name for it."""
        return self.model

    def get_num_tokens(self, text: str) -> int:
        """About how many tokens ``text`` is: the SLM's tokenizer is not published, so this
        counts four characters a token (langchain-core's default would need
        ``transformers`` and GPT-2's vocabulary). With ``custom_get_token_ids``, that."""
        if self.custom_get_token_ids is not None:
            return super().get_num_tokens(text)
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """About how many tokens ``messages`` (and ``tools``) are, by langchain-core's
        ``count_tokens_approximately``, as :meth:`get_num_tokens` counts: what
        ``trim_messages(token_counter=model)`` and agent middleware call. With
        ``custom_get_token_ids``, langchain-core's count on those ids."""
        if self.custom_get_token_ids is not None:
            return super().get_num_tokens_from_messages(messages, tools)
        from langchain_core.messages.utils import count_tokens_approximately

        return count_tokens_approximately(messages, chars_per_token=CHARS_PER_TOKEN,
                                          tools=list(tools) if tools else None)

    def _resolve_model_profile(self) -> ModelProfile:
        """What the SLM can do through this class (langchain-core's hook for partners)."""
        return assisterr_profile()

    # A private hook, on purpose: every entry point (invoke, stream, batch, their async
    # forms, astream_events, stream_events) turns its input into messages here, and bytes
    # would be read as a sequence of messages and fail obscurely. The only public way would
    # be to override each entry point. A test fails loudly if langchain-core stops calling it.
    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue:
        if isinstance(model_input, bytes | bytearray | memoryview):
            raise InvalidRequestError(
                "input",
                "must be a string, messages or a prompt value, got "
                f"{type(model_input).__name__}",
            )
        return super()._convert_input(model_input)

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=kwargs.get("model") or self.model,
            ls_model_type="chat",
        )
        if merged := merge_stop(self.stop, stop):
            params["ls_stop"] = merged
        return params

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer ``tools`` to the model; its replies then carry ``tool_calls``.

        ``tool_choice``: None/"auto" (the model decides), "any"/"required" (some tool),
        a tool name or ``{"type": "function", "function": {"name": ...}}`` (that tool),
        True (the only tool), "none" (no tool offered). The SLM is asked, not forced: a
        reply without a call is plain content. ``parallel_tool_calls=False`` (a keyword
        bound with the tools) asks for one call per reply and keeps only the first.
        """
        from langchain_core.utils.function_calling import convert_to_openai_tool

        formatted = [convert_to_openai_tool(tool, strict=strict) for tool in tools]
        names = [tool["function"]["name"] for tool in formatted]
        choice = tool_choice_name(tool_choice, names)
        return self.bind(tools=formatted, tool_choice=choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        include_raw: bool = False,
        method: StructuredMethod = "json_schema",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Answers as ``schema`` (a pydantic model, a TypedDict or a JSON schema).

        ``method``: "json_schema" (default; the schema goes into the query and the JSON
        reply is parsed), "json_mode" (only "answer in JSON": describe the shape in your
        prompt; with ``schema=None`` the parsed JSON itself is returned) or
        "function_calling" (the schema as the one tool to call). A reply that
        does not parse raises ``OutputParserException``; with ``include_raw=True`` the result
        is ``{"raw", "parsed", "parsing_error"}`` instead.
        """
        if kwargs:
            raise ValueError(f"Received unsupported arguments {kwargs}")
        from ._structured import structured_output  # loaded on first use: import stays light

        return structured_output(self, schema, method=method, include_raw=include_raw,
                                 strict=strict)

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> ChatRequest:
        """Per-call ``model=`` and ``session_id=`` override the fields; stops are merged;
        sampling controls get the same warning as at construction."""
        warn_ignored("ChatAssisterr call", sampling_arguments(kwargs))
        instructions = CallInstructions.from_kwargs(
            kwargs, tool_template=self.tool_prompt_template, json_template=self.json_prompt_template
        )
        return ChatRequest.build(
            messages,
            handle=kwargs.get("model") or self.model,
            session_id=kwargs.get("session_id", self.session_id),
            template=self.query_template,
            stop=merge_stop(self.stop, stop),
            instructions=instructions,
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        if self.streaming:
            assembler = request.chunks()
            for _ in self._stream_reply(assembler, run_manager):
                pass
            return assembler.result()
        reply = self._client.chat(request.handle, request.query, session_id=request.session_id)
        return request.result(reply)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        if self.streaming:
            assembler = request.chunks()
            async for _ in self._astream_reply(assembler, run_manager):
                pass
            return assembler.result()
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
        yield from self._stream_reply(self._request(messages, stop, kwargs).chunks(), run_manager)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        assembler = self._request(messages, stop, kwargs).chunks()
        async for chunk in self._astream_reply(assembler, run_manager):
            yield chunk

    def _stream_reply(
        self, assembler: StreamAssembler, run_manager: CallbackManagerForLLMRun | None
    ) -> Iterator[ChatGenerationChunk]:
        """Stream the assembler's request, feeding it every delta and firing callbacks."""
        request = assembler.request
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
        except Exception:
            if (chunk := assembler.interrupted()) is not None:  # text that arrived, first
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
            raise
        finally:
            deltas.close()  # release the connection at once, also when stopping early
        chunk = assembler.finish()
        if run_manager:
            run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk

    async def _astream_reply(
        self, assembler: StreamAssembler, run_manager: AsyncCallbackManagerForLLMRun | None
    ) -> AsyncIterator[ChatGenerationChunk]:
        """The async twin of :meth:`_stream_reply`."""
        request = assembler.request
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
        except Exception:
            if (chunk := assembler.interrupted()) is not None:
                if run_manager:
                    await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                yield chunk
            raise
        finally:
            await deltas.aclose()
        chunk = assembler.finish()
        if run_manager:
            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
        yield chunk



def _settings_fields(values: Mapping[str, Any]) -> SettingsFields:
    """The connection settings among a model's arguments (a SecretStr key unwrapped)."""
    key = values.get("api_key")
    fields: SettingsFields = {
        "api_key": key.get_secret_value() if isinstance(key, SecretStr) else key,
        "base_url": values.get("base_url"),
        "timeout": values.get("timeout"),
        "max_retries": values.get("max_retries"),
        "max_connections": values.get("max_connections"),
        "proxy": values.get("proxy"),
        "verify": values.get("verify"),
    }
    return fields


def _known_arguments(cls: type[ChatAssisterr]) -> set[str]:
    """Every name a field is taken under."""
    known = set(MODEL_NAMES)
    for name, info in cls.model_fields.items():
        known.add(name)
        if info.alias:
            known.add(info.alias)
    return known
