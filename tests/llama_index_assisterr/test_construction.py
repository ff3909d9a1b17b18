"""What ``Assisterr`` says about itself, and what it takes from code written for another
provider."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.base.llms.types import ChatMessage

from assisterr_core import (
    AssisterrClient,
    IgnoredParameterWarning,
    InvalidRequestError,
    Llama3Template,
)
from assisterr_emulator import EmulatorServer
from llama_index_assisterr import Assisterr

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


def test_a_misspelt_argument_is_refused_naming_the_close_one(
    assisterr_emulator: EmulatorServer,
) -> None:
    """``sesion_id=`` silently left session mode off before; LlamaIndex's own fields and a
    round trip through ``to_dict``/``from_dict`` still work."""
    suggestion = r"'sesion_id' \(did you mean 'session_id'\?\)"
    with pytest.raises(InvalidRequestError, match=suggestion):
        make_llm(assisterr_emulator, sesion_id="abc")
    llm = make_llm(assisterr_emulator, session_id="abc", system_prompt="Be brief.",
                   context_window=2048)
    copy = Assisterr.from_dict(llm.to_dict(), api_key=assisterr_emulator.api_key)  # not dumped
    assert (copy.session_id, copy.system_prompt, copy.context_window) == ("abc", "Be brief.", 2048)


async def test_sampling_parameters_on_a_call_are_warned_about_at_the_calling_line(
    assisterr_emulator: EmulatorServer,
) -> None:
    llm = make_llm(assisterr_emulator)
    user = [ChatMessage(role="user", content="hi")]

    with pytest.warns(IgnoredParameterWarning) as caught:
        llm.chat(user, temperature=0)
        llm.complete("hi", max_tokens=5)
        list(llm.stream_chat(user, top_p=0.9))
        await llm.acomplete("hi", seed=1)

    assert [str(w.message).split(" is ")[0] for w in caught] == [
        "Assisterr call(temperature=...)", "Assisterr call(max_tokens=...)",
        "Assisterr call(top_p=...)", "Assisterr call(seed=...)"]
    assert {w.filename for w in caught} == {__file__}  # the lines that passed them
    assert [r.body for r in assisterr_emulator.chat_requests()] == [{"query": "hi"}] * 4


def test_a_bad_handle_or_session_id_is_refused_when_the_llm_is_built(
    assisterr_emulator: EmulatorServer,
) -> None:
    # raised on the first call instead, LlamaIndex's compact and refine synthesizers would
    # swallow it (a ValueError) into the answer "Empty Response"
    with pytest.raises(InvalidRequestError, match="handle: must not contain whitespace"):
        Assisterr(model="my slm", api_key="k")
    with pytest.raises(InvalidRequestError, match="session_id: must not contain '/'"):
        make_llm(assisterr_emulator, session_id="a/b")
    assert make_llm(assisterr_emulator, session_id=123).session_id == "123"


def test_the_slm_defaults_to_the_handle_name_in_the_environment(
    assisterr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = {"base_url": assisterr_emulator.base_url, "api_key": assisterr_emulator.api_key}
    monkeypatch.delenv("ASSISTERR_HANDLE_NAME", raising=False)
    with pytest.raises(InvalidRequestError, match=(
            r'model: .*Assisterr\(model="my-slm"\) or set ASSISTERR_HANDLE_NAME')):
        Assisterr(**connection)
    monkeypatch.setenv("ASSISTERR_HANDLE_NAME", "env-slm")
    llm = Assisterr(**connection)
    assert llm.metadata.model_name == "env-slm"
    assert llm.complete("hi").text == "Hello from env-slm! You said: hi"


def test_a_missing_key_or_unsendable_text_is_refused_when_the_llm_is_built(
    assisterr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused on the first call instead, a query engine in compact or refine mode would
    answer "Empty Response". A given client holds its own settings, its key included."""
    monkeypatch.delenv("ASSISTERR_API_KEY", raising=False)
    with pytest.raises(InvalidRequestError,
                       match=r"api_key: is not set: pass api_key=\.\.\. or set ASSISTERR_API_KEY"):
        Assisterr(model=HANDLE, base_url=assisterr_emulator.base_url)
    with pytest.raises(InvalidRequestError, match="system_prompt: contains a character"):
        make_llm(assisterr_emulator, system_prompt="Be brief. \ud800")
    with AssisterrClient(api_key=assisterr_emulator.api_key,
                         base_url=assisterr_emulator.base_url) as client:
        llm = Assisterr(model=HANDLE, client=client)
        assert llm.complete("hi").text == f"Hello from {HANDLE}! You said: hi"


def test_messages_to_prompt_and_a_query_template_together_are_refused(
    assisterr_emulator: EmulatorServer,
) -> None:
    with pytest.raises(InvalidRequestError, match="or query_template, not both"):
        make_llm(assisterr_emulator, messages_to_prompt=lambda messages: "q",
                 query_template=Llama3Template())
