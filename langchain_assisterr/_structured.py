"""``with_structured_output`` for ChatAssisterr: a JSON answer (or a tool call) asked for in
the query, parsed and validated against the schema.

The schema may be a pydantic model (v2 or v1), a TypedDict or a JSON schema dict. Models
come back as instances, the others as dicts checked against the schema's required keys
and top-level types.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import (
    AsyncCallbackManagerForChainRun,
    CallbackManagerForChainRun,
)
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import BaseOutputParser
from langchain_core.outputs import ChatGeneration, Generation
from langchain_core.runnables import Runnable, RunnableConfig, RunnableSerializable
from langchain_core.runnables.config import patch_config
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

from assisterr_core.chat import NoJSONAnswerError, parse_json_answer

from ._response_format import JsonAnswer

StructuredMethod = Literal["json_schema", "json_mode", "function_calling"]
_METHODS = ("json_schema", "json_mode", "function_calling")


class StructuredAnswerParser(BaseOutputParser[Any]):
    """Reads a reply as an instance of ``schema``: from its JSON text, or from its first
    tool call (``from_tool_call``). Raises ``OutputParserException`` when it cannot. With no
    schema (``None``), any JSON value is the answer."""

    schema_: Any
    json_schema: dict[str, Any]
    from_tool_call: bool = False

    @property
    def _type(self) -> str:
        return "assisterr_structured_answer"

    def parse_result(self, result: list[Generation], *, partial: bool = False) -> Any:
        generation = result[0]
        message = generation.message if isinstance(generation, ChatGeneration) else None
        if self.from_tool_call and isinstance(message, AIMessage):
            return self._validate(_first_call_arguments(message), message.text)
        return self.parse(message.text if isinstance(message, BaseMessage) else generation.text)

    def parse(self, text: str) -> Any:
        """The first JSON value in ``text`` that fits the schema (a stray ``[1]`` before the
        answer is skipped); the first candidate's mismatch is raised if none fits."""
        try:
            return parse_json_answer(text, accept=lambda value: self._validate(value, text))
        except NoJSONAnswerError as error:
            if isinstance(error.refusal, OutputParserException):
                raise error.refusal from error
            raise OutputParserException(
                f"The reply holds no JSON answer: {error}", llm_output=text
            ) from error

    def _validate(self, value: Any, text: str) -> Any:
        schema = self.schema_
        if schema is None:  # json_mode without a schema: any JSON value
            return value
        try:
            if isinstance(schema, type) and is_basemodel_subclass(schema):
                validate = getattr(schema, "model_validate", None) or schema.parse_obj  # type: ignore[attr-defined]
                return validate(value)  # pydantic v2, or v1
        except Exception as error:  # pydantic's ValidationError, v1 or v2
            raise OutputParserException(
                f"The reply does not match {schema.__name__}: {error}", llm_output=text
            ) from error
        if problem := JsonAnswer(self.json_schema).fits(value):
            raise OutputParserException(
                f"The reply does not match the schema: {problem}", llm_output=text
            )
        return value


def _first_call_arguments(message: AIMessage) -> Any:
    if message.tool_calls:
        return message.tool_calls[0]["args"]
    detail = (f": {message.invalid_tool_calls[0]['error']}" if message.invalid_tool_calls
              else "")
    raise OutputParserException(
        f"The reply calls no usable tool{detail}", llm_output=message.text
    )


def structured_output(
    model: BaseChatModel,
    schema: dict[str, Any] | type | None,
    *,
    method: StructuredMethod,
    include_raw: bool,
    strict: bool | None,
) -> Runnable[LanguageModelInput, Any]:
    """The runnable behind ``ChatAssisterr.with_structured_output``."""
    if method not in _METHODS:
        raise ValueError(f"method must be one of {', '.join(_METHODS)}, not {method!r}")
    if schema is None and method != "json_mode":
        raise ValueError(f"method={method!r} needs a schema; only json_mode works without one")
    json_schema = {} if schema is None else convert_to_json_schema(schema)
    trace = {"kwargs": {"method": method, "strict": strict}, "schema": schema}
    llm: Runnable[LanguageModelInput, Any]
    if method == "function_calling" and schema is not None:
        name = convert_to_openai_tool(schema)["function"]["name"]
        llm = model.bind_tools([schema], tool_choice=name, strict=strict,
                               ls_structured_output_format=trace)
    else:
        response_format: dict[str, Any] = {"type": "json_object"}
        if method == "json_schema":  # the shape OpenAI takes, and langchain's ProviderStrategy
            spec = {"name": json_schema.get("title", "answer"), "schema": json_schema}
            if strict is not None:
                spec["strict"] = strict
            response_format = {"type": "json_schema", "json_schema": spec}
        llm = model.bind(response_format=response_format, ls_structured_output_format=trace)
    parser = StructuredAnswerParser(schema_=schema, json_schema=json_schema,
                                    from_tool_call=method == "function_calling")
    if not include_raw:
        return llm | parser
    return llm | RawAndParsed(parser=parser)


class RawAndParsed(RunnableSerializable[BaseMessage, dict[str, Any]]):
    """``include_raw=True``: the reply as ``{"raw", "parsed", "parsing_error"}``.

    One step, not langchain's usual ``RunnablePassthrough.assign(...).with_fallbacks(...)``:
    when streamed, that yields ``{"raw": ...}`` first, and a fallback cannot take over after
    a first chunk, so a reply that did not parse raised out of ``stream``/``astream`` instead
    of coming back under ``parsing_error``. The parser still runs as a child run.
    """

    parser: StructuredAnswerParser

    def invoke(self, input: BaseMessage, config: RunnableConfig | None = None,
               **kwargs: Any) -> dict[str, Any]:
        return self._call_with_config(self._read, input, config, run_type="parser")

    async def ainvoke(self, input: BaseMessage, config: RunnableConfig | None = None,
                      **kwargs: Any) -> dict[str, Any]:
        return await self._acall_with_config(self._aread, input, config, run_type="parser")

    def _read(self, raw: BaseMessage, run_manager: CallbackManagerForChainRun,
              config: RunnableConfig) -> dict[str, Any]:
        try:
            parsed = self.parser.invoke(
                raw, patch_config(config, callbacks=run_manager.get_child()))
        except Exception as error:  # what langchain's fallback catches, too
            return {"raw": raw, "parsed": None, "parsing_error": error}
        return {"raw": raw, "parsed": parsed, "parsing_error": None}

    async def _aread(self, raw: BaseMessage, run_manager: AsyncCallbackManagerForChainRun,
                     config: RunnableConfig) -> dict[str, Any]:
        try:
            parsed = await self.parser.ainvoke(
                raw, patch_config(config, callbacks=run_manager.get_child()))
        except Exception as error:
            return {"raw": raw, "parsed": None, "parsing_error": error}
        return {"raw": raw, "parsed": parsed, "parsing_error": None}
