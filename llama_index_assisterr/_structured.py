"""Structured answers for LlamaIndex: the core's JSON protocol instead of LlamaIndex's
default format text, and a forgiving reader for the reply.

LlamaIndex's ``PydanticOutputParser`` appends its schema after the prompt is formatted but
with its braces still escaped for formatting, so the model would read ``{{"type": ...}}``;
this parser appends :func:`assisterr_core.tools.json_instructions` as they are.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import BaseModel, ValidationError
from llama_index.core.llms.llm import LLM
from llama_index.core.output_parsers.pydantic import PydanticOutputParser
from llama_index.core.program.llm_program import LLMTextCompletionProgram
from llama_index.core.prompts.base import BasePromptTemplate

from assisterr_core.tools import JSON_PROTOCOL, json_instructions, parse_json_answer


class JsonAnswerParser(PydanticOutputParser):  # type: ignore[type-arg]
    """Asks for a JSON answer matching ``output_cls`` and reads it (fenced or among prose)."""

    def __init__(self, output_cls: type[BaseModel], template: str = JSON_PROTOCOL) -> None:
        super().__init__(output_cls=output_cls)
        self._template = template

    def get_format_string(self, escape_json: bool = True) -> str:
        text = json_instructions(self.output_cls.model_json_schema(), self._template)
        return text.replace("{", "{{").replace("}", "}}") if escape_json else text

    def format(self, query: str) -> str:
        """Called on the formatted prompt: the instructions go in unescaped."""
        return f"{query}\n\n{self.get_format_string(escape_json=False)}"

    def parse(self, text: str) -> Any:
        """The answer as ``output_cls``; ValueError naming the problem otherwise."""
        try:
            return self.output_cls.model_validate(parse_json_answer(text))
        except ValidationError as error:
            raise ValueError(
                f"The reply does not match {self.output_cls.__name__}: {error}"
            ) from error


def json_program(
    llm: LLM, output_cls: type[BaseModel], prompt: BasePromptTemplate, template: str
) -> LLMTextCompletionProgram:  # type: ignore[type-arg]
    """A text-completion program on the JSON protocol; the caller's prompt is not mutated."""
    return LLMTextCompletionProgram(
        output_parser=JsonAnswerParser(output_cls, template),
        output_cls=output_cls,
        prompt=prompt.model_copy(),
        llm=llm,
    )
