"""What both langchain-tests suites are told about ChatAssisterr: one place for the flags."""

from __future__ import annotations

from typing import Any

from langchain_assisterr import ChatAssisterr


class AssisterrSuiteSettings:
    """Model, parameters and honest capability flags, shared by the unit and integration suites."""

    @property
    def chat_model_class(self) -> type[ChatAssisterr]:
        return ChatAssisterr

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "test-slm"}

    @property
    def returns_usage_metadata(self) -> bool:
        return False

    # Tools and structured output travel as instructions in the query (assisterr_core.chat);
    # every test these flags enable passes against the local server's generic tool player.
    @property
    def has_tool_calling(self) -> bool:
        return True

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def has_structured_output(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        # json_mode asks for "a JSON object" with no schema: the prompt describes the shape,
        # and the local server takes the keys the prompt names in quotes.
        return True
