"""langchain-tests' standard integration suite for ChatAssisterr, against the local server."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from assisterr_core.emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr


@pytest.fixture(autouse=True)
def _point_at_emulator(
    assisterr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite builds models from ``chat_model_params`` alone: the server comes from env."""
    monkeypatch.setenv("ASSISTERR_BASE_URL", assisterr_emulator.base_url)
    monkeypatch.setenv("ASSISTERR_API_KEY", assisterr_emulator.api_key)


class TestChatAssisterrIntegration(ChatModelIntegrationTests):
    @property
    def chat_model_class(self) -> type[ChatAssisterr]:
        return ChatAssisterr

    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": "test-slm"}

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

    @property
    def supports_json_mode(self) -> bool:
        # json_mode asks for "a JSON object" with no schema (the prompt describes the
        # shape); the local server cannot honestly guess the keys a prompt asks for.
        return False

    @property
    def model_override_value(self) -> str:
        return "other-slm"
