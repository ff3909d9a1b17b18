"""langchain-tests' standard integration suite for ChatAssisterr, against the local server."""

from __future__ import annotations

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from assisterr_emulator import EmulatorServer

from ..standard_settings import AssisterrSuiteSettings


@pytest.fixture(autouse=True)
def _point_at_emulator(
    assisterr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite builds models from ``chat_model_params`` alone: the server comes from env."""
    monkeypatch.setenv("ASSISTERR_BASE_URL", assisterr_emulator.base_url)
    monkeypatch.setenv("ASSISTERR_API_KEY", assisterr_emulator.api_key)


class TestChatAssisterrIntegration(AssisterrSuiteSettings, ChatModelIntegrationTests):
    @property
    def model_override_value(self) -> str:
        return "other-slm"
