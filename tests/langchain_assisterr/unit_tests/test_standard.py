"""langchain-tests' standard unit suite for ChatAssisterr (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests

from ..standard_settings import AssisterrSuiteSettings

# The suite passes temperature and max_tokens to every model it builds; the warning that they
# are ignored is tested in test_construction.
pytestmark = pytest.mark.filterwarnings("ignore::assisterr_core.IgnoredParameterWarning")


class TestChatAssisterrUnit(AssisterrSuiteSettings, ChatModelUnitTests):
    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {"ASSISTERR_API_KEY": "env-key", "ASSISTERR_BASE_URL": "http://127.0.0.1:9"},
            {"handle_name": "test-slm"},
            {"api_key": "env-key", "base_url": "http://127.0.0.1:9", "model": "test-slm"},
        )
