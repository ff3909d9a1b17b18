"""langchain-tests' standard unit suite for ChatAssisterr (no network)."""

from __future__ import annotations

from typing import Any

from langchain_tests.unit_tests import ChatModelUnitTests

from langchain_assisterr import ChatAssisterr


class TestChatAssisterrUnit(ChatModelUnitTests):
    @property
    def chat_model_class(self) -> type[ChatAssisterr]:
        return ChatAssisterr

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "test-slm"}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"ASSISTERR_API_KEY": "env-key", "ASSISTERR_BASE_URL": "http://127.0.0.1:9"},
            {"handle_name": "test-slm"},
            {"api_key": "env-key", "base_url": "http://127.0.0.1:9", "model": "test-slm"},
        )

    @property
    def returns_usage_metadata(self) -> bool:
        return False

    # Tools and structured output travel as instructions in the query (assisterr_core.tools);
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
