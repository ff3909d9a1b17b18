"""``Assisterr``: an Assisterr small language model as a LlamaIndex ``FunctionCallingLLM``.

Every method is native: the sync ones on the ``requests`` client, the async ones on the
``aiohttp`` client (imported on first async use). What does no I/O (building the query,
parsing tool calls, shaping responses) lives in ``_messages``, ``_tools`` and ``_responses``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from llama_index.core.base.llms.generic_utils import (
    messages_to_prompt as generic_messages_to_prompt,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.bridge.pydantic import (
    BaseModel,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
)
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS

# re-exported by llama-index-core without __all__
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.prompts import PromptTemplate

from assisterr_core import (
    SAMPLING_PARAMETERS,
    ChatReply,
    InvalidRequestError,
    QueryTemplate,
    transcript_template,
    warn_ignored_parameters,
)
from assisterr_core.chat import (
    JSON_PROMPT_TEMPLATE,
    TOOL_PROMPT_TEMPLATE,
    acut_stream,
    cut_stream,
    sampling_arguments,
    stop_sequences,
    unexpected_arguments,
    warn_ignored_at_caller,
)
from assisterr_core.transport import (
    DEFAULT_MAX_RETRIES,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_HANDLE_NAME,
    SharedClients,
    TimeoutLike,
    TravelsAsSettings,
    Verify,
    check_identifier,
    check_query,
    detached,
    handle_name_from_env,
)

from ._messages import chat_query, completion_query, prompt_hook_template
from ._responses import (
    ChatAssembler,
    CompletionAssembler,
    aresponses,
    chat_response,
    completion_response,
    responses,
)
from ._structured import (
    JSON_MODES,
    JsonAnswerParser,
    aannounced,
    announced,
    astream_answers,
    ended,
    json_request,
    started,
    stream_answers,
    structured_program,
)
from ._tools import ToolRequest, openai_tool, tool_selections

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

    from assisterr_core.transport import AssisterrClient, AsyncAssisterrClient

Model = TypeVar("Model", bound=BaseModel)
dispatcher = get_dispatcher(__name__)
CALL_LIBRARIES = frozenset({"llama_index", "llama_index_instrumentation", "workflows",
                            "llama_index_assisterr", "assisterr_core", "pydantic", "asyncio"})
"""Packages whose frames a per-call warning skips, to point at the caller's own line."""
SENT_TEXT_FIELDS = ("system_prompt", "tool_prompt_template", "json_prompt_template")
"""Fields whose text goes into queries: checked when the LLM is built."""


@dataclass(frozen=True)
class PreparedQuery:
    """One call, ready to send: the query, the session (if any), the stop sequences, and
    the tools whose calls the reply may carry."""

    query: str
    session_id: str | None
    stop: list[str] | None
    tools: ToolRequest | None = None


class Assisterr(TravelsAsSettings, FunctionCallingLLM):
    """An Assisterr small language model (SLM), addressed by its handle name, for LlamaIndex.

    Stateless by default: chat calls render the whole conversation into one query. With
    ``session_id`` (a field, or a per-call keyword) the server keeps the user and assistant
    turns, so only the system text (system messages, ``system_prompt``, a chat engine's
    retrieved context) and the turns since the model's last reply are sent, rendered through
    ``query_template`` (a lone message, as is, when there is no system text). A ``stop``
    keyword cuts replies client-side. Sampling parameters of other providers
    (``temperature``, ``max_tokens``, ...) are accepted with an ``IgnoredParameterWarning``:
    the API has none.

    Function calling is by prompt, with the core's tool instructions (those ``ChatAssisterr``
    uses): ``chat_with_tools`` and its async and streaming forms write the tools into the
    query (``tool_prompt_template``) and read the calls back from the reply as
    ``ToolCallBlock``s, so ``FunctionAgent``, ``AgentWorkflow``, ``predict_and_call`` and
    ``FunctionCallingProgram`` work. Earlier calls and tool results are rendered into the
    next query. A streamed reply shows its text as it comes until something that may open a
    call (``{``, ``[`` or a code fence); the last chunk carries the parsed calls. Should a
    stream fail, the text received is delivered before the error, except what was held back
    as a possible call (it is only read once the reply has ended).

    A reply that is not a valid call does not crash an agent run:

    - prose (no call in it) has no tool calls: it is the answer;
    - a call to an unknown tool, or with arguments off the tool's schema, is still returned
      by ``get_tool_calls_from_response``, as the model wrote it (arguments that are not a
      JSON object become ``{}``), so an agent runs it and LlamaIndex hands the failure
      ("Tool ... not found", the tool's own argument error) back to the model, which can
      correct itself. The message lists such calls, with the reason, under
      ``additional_kwargs["invalid_tool_calls"]``;
    - where a valid call is required (``error_on_no_tool_call=True``: ``predict_and_call``,
      ``FunctionCallingProgram``) a reply without one raises ValueError saying why.

    Bad input is an ``assisterr_core.InvalidRequestError`` (a ``ValueError``), raised before
    anything is sent: a missing API key (unless a client is given) and text that cannot be
    sent (a lone surrogate in ``system_prompt`` or a template) when the LLM is built; what
    only a call shows (a prompt or a retrieved document with a lone surrogate) when it is
    called. LlamaIndex's ``compact`` and ``refine`` response synthesizers catch a
    ``ValueError`` from the LLM, log a warning and answer "Empty Response": with them, such
    input gives that answer; ``tree_summarize`` and ``simple_summarize`` let the error through.

    Structured outputs (``structured_predict``, its async and streaming forms,
    ``as_structured_llm``) ask for a bare JSON answer with the core's JSON instructions
    (``json_prompt_template``) in the default and ``LLM`` program modes, and read it
    forgivingly: one JSON object is easier for a small model than a call wrapping it.
    ``pydantic_program_mode=PydanticProgramMode.FUNCTION`` uses LlamaIndex's
    ``FunctionCallingProgram`` on the tool instructions instead.

    Args:
        model: the SLM's handle name; read from ``ASSISTERR_HANDLE_NAME`` when not given.
        api_key: the API key; read from ``ASSISTERR_API_KEY`` when not given.
        base_url: the API root; from ``ASSISTERR_BASE_URL``, else the public service.
        timeout: seconds per read, ``(connect, read)`` or ``(connect, read, total)``.
        max_retries: retries of requests that cannot have reached the model.
        max_connections: the connection pool's size (default 100).
        proxy: a proxy URL for every request (default: the environment's).
        verify: TLS verification: True, a CA bundle path, an ``ssl.SSLContext``, or False.
        client: your own ``assisterr_core.AssisterrClient`` (never closed by the LLM).
        async_client: your own ``assisterr_core.AsyncAssisterrClient``, likewise. Without
            them, LLMs and chat models with equal settings share their clients.
        session_id: a server-side session to talk in.
        query_template: renders a conversation into the query (e.g. ``Llama3Template()``).
        messages_to_prompt: LlamaIndex's own hook, in place of ``query_template``: a function
            of the chat messages (the system prompt and any tool instructions among them as
            system messages) that returns the query. ``completion_to_prompt`` rewrites a
            completion's prompt before the system prompt is put in front of it.
        tool_prompt_template: the instructions that offer tools.
        json_prompt_template: the instructions that ask for a JSON answer.
        context_window: tokens the SLM reads at most (the API does not say).
        num_output: tokens LlamaIndex keeps free for the reply when it sizes prompts.

    Examples:
        `pip install "assisterr-integrations[llama-index]"`, set ``ASSISTERR_API_KEY``.

        ```python
        from llama_index.llms.assisterr import Assisterr

        llm = Assisterr(model="my-slm")

        print(llm.complete("Paul Graham is "))

        for r in llm.stream_complete("Paul Graham is "):
            print(r.delta, end="")
        ```

        Chat, with a system prompt, and asynchronously:

        ```python
        from llama_index.core.llms import ChatMessage

        messages = [
            ChatMessage(role="system", content="You are a pirate with a colorful personality."),
            ChatMessage(role="user", content="What is your name?"),
        ]
        print(llm.chat(messages))

        print(await llm.acomplete("Paul Graham is "))
        ```

        Function calling:

        ```python
        from llama_index.core.tools import FunctionTool


        def multiply(a: int, b: int) -> int:
            '''Multiply two integers and return the result.'''
            return a * b


        response = llm.predict_and_call([FunctionTool.from_defaults(fn=multiply)],
                                        "What is 3 times 4?")
        print(response)  # 12
        ```

        Structured output:

        ```python
        from llama_index.core.prompts import PromptTemplate
        from pydantic import BaseModel


        class Song(BaseModel):
            name: str
            artist: str


        song = llm.structured_predict(Song, PromptTemplate("Name a song by {artist}."),
                                      artist="Queen")
        ```

        A conversation kept on the server:

        ```python
        session = llm.client.create_session("my-slm")
        llm.chat([ChatMessage(role="user", content="My name is Ann.")], session_id=session)
        llm.chat([ChatMessage(role="user", content="What was my first question?")],
                 session_id=session)
        ```
    """

    model: str = Field(description=f"The SLM's handle name; read from {ENV_HANDLE_NAME} when "
                       "not given.")
    api_key: SecretStr | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description=f"The API key; read from {ENV_API_KEY} when not given.",
    )
    base_url: str = Field(
        default="",
        description=f"The API root; from {ENV_BASE_URL}, else the public API.",
    )
    timeout: TimeoutLike | None = Field(
        default=None,
        description="Seconds to wait for each read (a reply, or a stream's next chunk), a "
        "(connect, read) or (connect, read, total) tuple, or an assisterr_core.Timeout; "
        "checked like the core client's (default: 10 s to connect, 120 s per read).",
    )
    max_retries: int = Field(default=DEFAULT_MAX_RETRIES, ge=0,
                             description="Retries on transient failures.")
    max_connections: int | None = Field(
        default=None, description="Connections pooled for sync calls and per event loop "
        "(default 100).",
    )
    proxy: str | None = Field(
        default=None, exclude=True, repr=False,
        description="A proxy URL for every request; default: the environment's (HTTPS_PROXY, "
        "ALL_PROXY, NO_PROXY, ...), read at each request.",
    )
    verify: Verify = Field(
        default=True, exclude=True, repr=False,
        description="TLS verification: True (the system's CAs, or REQUESTS_CA_BUNDLE), a CA "
        "bundle path, an ssl.SSLContext, or False (tests only).",
    )
    session_id: str | None = Field(
        default=None, description="A server-side session: send only the system text and the "
        "turns since the model's last reply."
    )
    query_template: QueryTemplate = Field(
        default=transcript_template,
        exclude=True,
        description="Renders a conversation into one query (e.g. Llama3Template()).",
    )
    tool_prompt_template: str = Field(
        default=TOOL_PROMPT_TEMPLATE,
        description="Offers tools in chat_with_tools; a str.format template with {tools}, "
        "{choice} and optionally {calls}.",
    )
    json_prompt_template: str = Field(
        default=JSON_PROMPT_TEMPLATE,
        description="Asks for a JSON answer in structured_predict; a str.format template "
        "with {schema}.",
    )
    context_window: int = Field(
        default=DEFAULT_CONTEXT_WINDOW, gt=0,
        description="Tokens the SLM reads at most (the API does not say): LlamaIndex sizes "
        "prompts and retrieved context by it.",
    )
    num_output: int = Field(
        default=DEFAULT_NUM_OUTPUTS, gt=0,
        description="Tokens LlamaIndex keeps free for the reply when it sizes prompts (the "
        "API has no length control).",
    )

    _clients: SharedClients = PrivateAttr()

    def __init__(
        self,
        model: str | None = None,
        *,
        api_key: str | SecretStr | None = None,
        client: AssisterrClient | None = None,
        async_client: AsyncAssisterrClient | None = None,
        **kwargs: Any,
    ) -> None:
        refusal = self._build(model, api_key, client, async_client, kwargs)
        if refusal is not None:
            del api_key  # the refusal's traceback shows this frame: it must not hold the key
            raise refusal

    def _build(
        self, model: str | None, api_key: str | SecretStr | None,
        client: AssisterrClient | None,
        async_client: AsyncAssisterrClient | None, kwargs: dict[str, Any],
    ) -> Exception | None:
        """Initialise the LLM; the error to raise if it cannot be, detached from the frames
        that saw the key."""
        # Checked now rather than on the first call: LlamaIndex's compact and refine
        # synthesizers turn a ValueError raised by a call into a silent "Empty Response".
        # Without a given client, the key must be set: a given one holds its own settings.
        try:
            if model is None:
                model = handle_name_from_env(type(self).__name__)
            model = check_identifier(model, "handle")
            if kwargs.get("session_id") is not None:
                kwargs["session_id"] = check_identifier(kwargs["session_id"], "session_id")
            refusal = unexpected_arguments(type(self).__name__, kwargs,
                                           {*type(self).model_fields, "base_url"})
            if refusal is not None:
                raise refusal
            ignored = SAMPLING_PARAMETERS.intersection(kwargs)
            warn_ignored_parameters(type(self).__name__, ignored, stacklevel=4)
            for name in ignored:
                del kwargs[name]
            clients = SharedClients.connect(
                client=client, async_client=async_client,
                api_key=api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key,
                base_url=kwargs.pop("base_url", None) or None,
                timeout=kwargs.get("timeout"), max_retries=kwargs.get("max_retries"),
                max_connections=kwargs.get("max_connections"), proxy=kwargs.get("proxy"),
                verify=kwargs.get("verify"),
            )
            key = clients.settings.api_key.get_secret_value()
            if not key and client is None and async_client is None:
                raise InvalidRequestError(
                    "api_key", f"is not set: pass api_key=... or set {ENV_API_KEY}"
                )
            if (kwargs.get("messages_to_prompt") is not None
                    and kwargs.get("query_template") is not None):
                raise InvalidRequestError(
                    "messages_to_prompt", "give it or query_template, not both: each renders "
                    "the conversation into the query")
            for name in SENT_TEXT_FIELDS:
                if isinstance(kwargs.get(name), str) and kwargs[name].strip():
                    check_query(kwargs[name], name)  # a lone surrogate cannot be sent
            super().__init__(model=model, api_key=SecretStr(key) if key else None,
                             base_url=clients.settings.base_url, **kwargs)
        except (InvalidRequestError, ValidationError) as error:
            return detached(error)
        self._clients = clients
        return None

    @classmethod
    def class_name(cls) -> str:
        return "Assisterr_LLM"

    @property
    def metadata(self) -> LLMMetadata:
        """A chat model that calls functions (by prompt); the window is ``context_window``."""
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.num_output,
            is_chat_model=True,
            is_function_calling_model=True,
            model_name=self.model,
        )

    # -- clients: shared per settings, as ChatAssisterr's are (see SharedClients) ---------

    @property
    def client(self) -> AssisterrClient:
        """The sync client: the one given, else the one shared by equal settings."""
        return self._clients.client

    @property
    def async_client(self) -> AsyncAssisterrClient:
        """The async client (the first use imports aiohttp), likewise."""
        return self._clients.async_client

    def close(self) -> None:
        """Release the connections of the clients this LLM uses, sync and async: a client
        shared with other models stays open while they use it, a given one is never closed.
        Calls after this open new connections."""
        self._clients.close()

    async def aclose(self) -> None:
        """:meth:`close`, closing the running loop's connections before it returns."""
        await self._clients.aclose()

    # -- completion ----------------------------------------------------------------------

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        prepared = self._prepare_completion(prompt, formatted, kwargs)
        return completion_response(self._send(prepared), prepared.stop)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        prepared = self._prepare_completion(prompt, formatted, kwargs)
        return responses(self._stream(prepared), CompletionAssembler())

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        prepared = self._prepare_completion(prompt, formatted, kwargs)
        return completion_response(await self._asend(prepared), prepared.stop)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        prepared = self._prepare_completion(prompt, formatted, kwargs)
        # The decorator needs a coroutine returning an async generator, not a generator.
        return aresponses(self._astream(prepared), CompletionAssembler())

    # -- chat: ``tools=`` (and ``tool_choice``, ``parallel_tool_calls``) as chat_with_tools
    # -- passes them --------------------------------------------------------------------

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        prepared = self._prepare_chat(messages, kwargs)
        return chat_response(self._send(prepared), prepared.stop, prepared.tools)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        prepared = self._prepare_chat(messages, kwargs)
        return responses(self._stream(prepared), ChatAssembler(prepared.tools))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        prepared = self._prepare_chat(messages, kwargs)
        return chat_response(await self._asend(prepared), prepared.stop, prepared.tools)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        prepared = self._prepare_chat(messages, kwargs)
        return aresponses(self._astream(prepared), ChatAssembler(prepared.tools))

    # -- function calling by prompt -------------------------------------------------------

    # Underscored but not private: FunctionCallingLLM declares it abstract, the one hook its
    # chat_with_tools, predict_and_call and agents expect a function-calling LLM to fill.
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """The ``chat`` arguments of ``chat_with_tools`` and its forms (the caller's history
        is not modified): the tools as OpenAI-shaped dicts, the choice, and whether several
        calls may be kept."""
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
        if user_msg is not None:
            messages.append(user_msg)
        if not tools:
            return {"messages": messages, **kwargs}
        return {
            "messages": messages,
            "tools": [openai_tool(tool) for tool in tools],
            "tool_choice": tool_choice,
            "tool_required": tool_required,
            "parallel_tool_calls": allow_parallel_tool_calls,
            **kwargs,
        }

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        """The reply's calls (see the class docstring for calls that do not fit)."""
        return tool_selections(response.message, strict=error_on_no_tool_call)

    # -- structured outputs: see the class docstring for the program of each mode -------

    @dispatcher.span
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        program = structured_program(self, output_cls, prompt, self.json_prompt_template)
        if program is None:
            answer: Model = super().structured_predict(output_cls, prompt, llm_kwargs,
                                                       **prompt_args)
            return answer
        started(output_cls, prompt, prompt_args)
        return ended(program(llm_kwargs=llm_kwargs, **prompt_args), output_cls)

    @dispatcher.span
    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        program = structured_program(self, output_cls, prompt, self.json_prompt_template)
        if program is None:
            answer: Model = await super().astructured_predict(output_cls, prompt, llm_kwargs,
                                                              **prompt_args)
            return answer
        started(output_cls, prompt, prompt_args)
        result = await program.acall(llm_kwargs=llm_kwargs, **prompt_args)
        return ended(result, output_cls)

    @dispatcher.span
    def stream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        if self.pydantic_program_mode in JSON_MODES:
            # the JSON program's request, streamed as chat (the program itself is not needed)
            parser = JsonAnswerParser(output_cls, self.json_prompt_template)
            started(output_cls, prompt, prompt_args)
            messages = json_request(self, parser, prompt, prompt_args)
            yield from announced(stream_answers(parser, self.stream_chat(messages,
                                                                          **(llm_kwargs or {}))))
            return
        program = structured_program(self, output_cls, prompt, self.json_prompt_template)
        if program is None:
            yield from super().stream_structured_predict(output_cls, prompt, llm_kwargs,
                                                         **prompt_args)
            return
        started(output_cls, prompt, prompt_args)
        yield from announced(program.stream_call(llm_kwargs=llm_kwargs, **prompt_args))

    @dispatcher.span
    async def astream_structured_predict(
        self,
        output_cls: type[Model],
        prompt: PromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        if self.pydantic_program_mode in JSON_MODES:
            parser = JsonAnswerParser(output_cls, self.json_prompt_template)
            started(output_cls, prompt, prompt_args)
            messages = json_request(self, parser, prompt, prompt_args)
            stream = await self.astream_chat(messages, **(llm_kwargs or {}))
            return aannounced(astream_answers(parser, stream))
        program = structured_program(self, output_cls, prompt, self.json_prompt_template)
        if program is None:
            return await super().astream_structured_predict(output_cls, prompt, llm_kwargs,
                                                            **prompt_args)
        started(output_cls, prompt, prompt_args)
        return aannounced(await program.astream_call(llm_kwargs=llm_kwargs, **prompt_args))

    # -- shared, no I/O ------------------------------------------------------------------

    def _prepare_completion(
        self, prompt: str, formatted: bool, kwargs: dict[str, Any]
    ) -> PreparedQuery:
        """``formatted`` prompts (from ``predict`` and friends) are sent as they are."""
        if not formatted:
            if self.completion_to_prompt is not None:
                prompt = self.completion_to_prompt(prompt)
            prompt = completion_query(prompt, self.query_template, system_prompt=self.system_prompt)
        return PreparedQuery(prompt, *self._call_options(kwargs))

    def _prepare_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> PreparedQuery:
        session_id, stop = self._call_options(kwargs)
        tools = ToolRequest.from_kwargs(kwargs)
        query = chat_query(
            messages, self._chat_template(),
            system_prompt=self.system_prompt, in_session=session_id is not None,
            instructions=tools.instructions(self.tool_prompt_template) if tools else None,
        )
        return PreparedQuery(query, session_id, stop, tools)

    def _chat_template(self) -> QueryTemplate:
        """What renders a chat call's turns: ``messages_to_prompt`` when one was given (the
        hook LlamaIndex's local-model LLMs take), else ``query_template``."""
        if self.messages_to_prompt in (None, generic_messages_to_prompt):
            return self.query_template
        return prompt_hook_template(self.messages_to_prompt)

    def _call_options(self, kwargs: dict[str, Any]) -> tuple[str | None, list[str] | None]:
        """The call's session and stop sequences; sampling controls get the warning they get
        at construction (pointed at the caller's line), and nothing is sent for them."""
        warn_ignored_at_caller("Assisterr call", sampling_arguments(kwargs),
                               libraries=CALL_LIBRARIES)
        session_id = kwargs.get("session_id", self.session_id)
        return session_id, stop_sequences(kwargs.get("stop")) or None

    # -- I/O -----------------------------------------------------------------------------

    def _send(self, prepared: PreparedQuery) -> ChatReply:
        return self.client.chat(self.model, prepared.query, session_id=prepared.session_id)

    def _stream(self, prepared: PreparedQuery) -> Iterator[str]:
        deltas = self.client.stream(self.model, prepared.query, session_id=prepared.session_id)
        return cut_stream(deltas, prepared.stop) if prepared.stop else deltas

    async def _asend(self, prepared: PreparedQuery) -> ChatReply:
        return await self.async_client.chat(self.model, prepared.query,
                                            session_id=prepared.session_id)

    def _astream(self, prepared: PreparedQuery) -> AsyncIterator[str]:
        deltas = self.async_client.stream(self.model, prepared.query,
                                          session_id=prepared.session_id)
        return acut_stream(deltas, prepared.stop) if prepared.stop else deltas


