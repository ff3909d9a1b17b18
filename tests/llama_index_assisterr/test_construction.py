"""What ``Assisterr`` says about itself, and what it takes from code written for another
provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from assisterr_core import IgnoredParameterWarning
from assisterr_core.emulator import EmulatorServer

from .conftest import HANDLE, make_llm

ROOT = Path(__file__).resolve().parents[2]


def test_metadata_tells_the_truth(assisterr_emulator: EmulatorServer) -> None:
    metadata = make_llm(assisterr_emulator, context_window=8192).metadata

    assert metadata.model_name == HANDLE
    assert metadata.is_chat_model and metadata.is_function_calling_model
    assert metadata.context_window == 8192
    assert make_llm(assisterr_emulator).metadata.context_window == 3900  # LlamaIndex's default


def test_sampling_parameters_are_accepted_with_a_warning_naming_each(
    assisterr_emulator: EmulatorServer,
) -> None:
    with pytest.warns(IgnoredParameterWarning) as caught:
        llm = make_llm(assisterr_emulator, temperature=0.2, max_tokens=5, top_p=0.9)

    assert sorted(str(w.message) for w in caught) == [
        f"Assisterr({name}=...) is ignored: the Assisterr API has no {name} control (it takes "
        "one query string), so nothing is sent for it."
        for name in ("max_tokens", "temperature", "top_p")
    ]
    assert {w.filename for w in caught} == {str(ROOT / "tests/llama_index_assisterr/conftest.py")}
    assert llm.complete("hi").text == f"Hello from {HANDLE}! You said: hi"  # ported code runs
    assert "temperature" not in llm.model_dump()
