"""Structured answers for LlamaIndex: which program serves each ``pydantic_program_mode``,
the core's JSON instructions instead of LlamaIndex's default format text, and a forgiving
reader for the reply, whole or streamed.

LlamaIndex's ``PydanticOutputParser`` appends its schema after the prompt is formatted but
with its braces still escaped for formatting, so the model would read ``{{"type": ...}}``;
this parser appends :func:`assisterr_core.chat.json_instructions` as they are.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import Any, TypeVar

from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.bridge.pydantic import BaseModel

# re-exported by llama-index-core without __all__
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictInProgressEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import LLM
from llama_index.core.output_parsers.pydantic import PydanticOutputParser
from llama_index.core.program.function_program import FunctionCallingProgram
from llama_index.core.program.llm_program import LLMTextCompletionProgram
from llama_index.core.program.streaming_utils import process_streaming_content_incremental
from llama_index.core.program.utils import create_flexible_model
from llama_index.core.prompts.base import BasePromptTemplate
from llama_index.core.types import BasePydanticProgram, PydanticProgramMode

from assisterr_core.chat import (
    JSON_PROMPT_TEMPLATE,
    NoJSONAnswerError,
    json_instructions,
    parse_json_answer,
)

dispatcher = get_dispatcher(__name__)
JSON_MODES = (PydanticProgramMode.DEFAULT, PydanticProgramMode.LLM)
Model = TypeVar("Model", bound=BaseModel)


class JsonAnswerParser(PydanticOutputParser):  # type: ignore[type-arg]
    """Asks for a JSON answer matching ``output_cls`` and reads it (fenced or among prose)."""

    def __init__(self, output_cls: type[BaseModel], template: str = JSON_PROMPT_TEMPLATE) -> None:
        super().__init__(output_cls=output_cls)
        self._template = template

    def get_format_string(self, escape_json: bool = True) -> str:
        text = json_instructions(self.output_cls.model_json_schema(), self._template)
        return text.replace("{", "{{").replace("}", "}}") if escape_json else text

    def format(self, query: str) -> str:
        """Called on the formatted prompt: the instructions go in unescaped."""
        return f"{query}\n\n{self.get_format_string(escape_json=False)}"

    def parse(self, text: str) -> Any:
        """The first JSON value in ``text`` that is an ``output_cls`` (a stray ``[1]`` before
        the answer is skipped); ValueError naming the problem otherwise."""
        try:
            return parse_json_answer(text, accept=self.output_cls.model_validate)
        except NoJSONAnswerError as error:
            if error.refusal is not None:
                raise ValueError(
                    f"The reply does not match {self.output_cls.__name__}: {error.refusal}"
                ) from error
            raise ValueError(f"The reply holds no JSON value: {error}") from error


class StreamedAnswer:
    """Reads a streamed reply as it grows: partial objects, then the validated answer.

    While the text so far is bare JSON, each step gives a partial object (LlamaIndex's
    flexible model, fields missing as None). Otherwise (prose, code fences) a step gives an
    object only once a whole JSON value among the text fits the schema. :meth:`finish`
    reads the whole reply as ``structured_predict`` does.
    """

    def __init__(self, parser: JsonAnswerParser) -> None:
        self._parser = parser
        self._flexible = create_flexible_model(parser.output_cls)
        self._partial: Any = None
        self.text = ""

    def feed(self, text: str) -> Any:
        """The object for the text so far, or None when there is none yet."""
        self.text = text
        if text.lstrip().startswith(("{", "[")):
            response = ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT,
                                                        content=text.strip()))
            self._partial = process_streaming_content_incremental(
                response, self._parser.output_cls, self._partial
            )
            return self._partial
        try:
            return parse_json_answer(text, accept=self._flexible.model_validate)
        except ValueError:
            return None

    def finish(self) -> Any:
        """The whole reply as ``output_cls``; ValueError if it holds no such answer."""
        return self._parser.parse(self.text)


def stream_answers(
    parser: JsonAnswerParser, responses: Iterator[ChatResponse]
) -> Generator[Any, None, None]:
    """Objects read from a chat stream; the last one is the validated answer."""
    reader = StreamedAnswer(parser)
    for response in responses:
        if (found := reader.feed(response.message.content or "")) is not None:
            yield found
    yield reader.finish()


async def astream_answers(
    parser: JsonAnswerParser, responses: AsyncIterator[ChatResponse]
) -> AsyncGenerator[Any, None]:
    """The async twin of :func:`stream_answers`."""
    reader = StreamedAnswer(parser)
    async for response in responses:
        if (found := reader.feed(response.message.content or "")) is not None:
            yield found
    yield reader.finish()


def json_program(
    llm: LLM, output_cls: type[BaseModel], prompt: BasePromptTemplate, template: str
) -> LLMTextCompletionProgram:  # type: ignore[type-arg]
    """A text-completion program on the JSON instructions; the caller's prompt is not mutated."""
    return LLMTextCompletionProgram(
        output_parser=JsonAnswerParser(output_cls, template),
        output_cls=output_cls,
        prompt=prompt.model_copy(),
        llm=llm,
    )


def structured_program(
    llm: FunctionCallingLLM, output_cls: type[BaseModel], prompt: BasePromptTemplate,
    json_template: str,
) -> BasePydanticProgram[Any] | None:
    """The program for ``llm.pydantic_program_mode``: the JSON instructions in the default and
    LLM modes, a required call of the output class as a tool in FUNCTION mode; None for
    the modes LlamaIndex serves itself (OPENAI, GUIDANCE, ...)."""
    mode = llm.pydantic_program_mode
    if mode in JSON_MODES:
        return json_program(llm, output_cls, prompt, json_template)
    if mode == PydanticProgramMode.FUNCTION:
        # "required" and not only tool_required=True: FunctionCallingProgram's streamed
        # forms pass tool_choice but drop tool_required, and a small model then may answer
        # in prose instead of calling the output class.
        return FunctionCallingProgram.from_defaults(
            output_cls=output_cls, prompt=prompt, llm=llm, tool_choice="required"
        )
    return None


def started(output_cls: type[BaseModel], prompt: BasePromptTemplate,
            prompt_args: dict[str, Any]) -> None:
    dispatcher.event(LLMStructuredPredictStartEvent(
        output_cls=output_cls, template=prompt, template_args=prompt_args
    ))


def ended(result: object, output_cls: type[Model]) -> Model:
    """The program's answer, checked and announced like LlamaIndex's own methods do."""
    if not isinstance(result, output_cls):
        raise TypeError(f"structured_predict expected a {output_cls.__name__}, got {result!r}")
    dispatcher.event(LLMStructuredPredictEndEvent(output=result))
    return result


def json_request(
    llm: LLM, parser: JsonAnswerParser, prompt: BasePromptTemplate, prompt_args: dict[str, Any]
) -> list[ChatMessage]:
    """The chat messages asking for the JSON answer, as the JSON program builds them (the
    caller's prompt is not mutated)."""
    prompt = prompt.model_copy()
    prompt.output_parser = parser
    return prompt.format_messages(llm=llm, **prompt_args)


def announced(objects: Iterator[Any]) -> Generator[Any, None, None]:
    """Streamed objects, each announced in progress; the last one announced at the end."""
    answer = None
    for answer in objects:
        dispatcher.event(LLMStructuredPredictInProgressEvent(output=answer))
        yield answer
    dispatcher.event(LLMStructuredPredictEndEvent(output=answer))


async def aannounced(objects: AsyncIterator[Any]) -> AsyncGenerator[Any, None]:
    """The async twin of :func:`announced`."""
    answer = None
    async for answer in objects:
        dispatcher.event(LLMStructuredPredictInProgressEvent(output=answer))
        yield answer
    dispatcher.event(LLMStructuredPredictEndEvent(output=answer))
