"""What ChatAssisterr says about the arguments it is built with, and what it tells LangChain
it can do (no network)."""

from __future__ import annotations

import asyncio
import warnings

import pytest

from assisterr_core import IgnoredParameterWarning, InvalidRequestError
from langchain_assisterr import ChatAssisterr


def test_sampling_controls_are_accepted_with_a_warning_naming_each() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = ChatAssisterr(model="slm", temperature=0.2, max_tokens=5, top_p=None)
    assert [w.category for w in caught] == [IgnoredParameterWarning] * 2
    messages = sorted(str(w.message) for w in caught)
    assert "ChatAssisterr(max_tokens=...) is ignored" in messages[0]
    assert "the Assisterr API has no temperature control" in messages[1]
    assert {w.filename for w in caught} == {__file__}  # the line that passed them
    assert model.model == "slm" and not hasattr(model, "temperature")


def test_a_misspelt_argument_is_refused_with_the_name_it_resembles() -> None:
    with pytest.raises(InvalidRequestError, match=r"'sesion_id' \(did you mean 'session_id'\?\)"):
        ChatAssisterr(model="slm", sesion_id="abc")
    with pytest.raises(InvalidRequestError, match=r"unexpected argument.*'organization'"):
        ChatAssisterr(model="slm", organization="acme")


def test_the_slm_is_taken_as_model_model_name_or_handle_name_once() -> None:
    names = [ChatAssisterr(**{key: "slm"}).model for key in ("model", "model_name",
                                                              "handle_name")]
    assert names == ["slm"] * 3
    assert ChatAssisterr(model="slm").model_name == "slm"
    with pytest.raises(InvalidRequestError, match="two different SLMs"):
        ChatAssisterr(model="a", model_name="b")


def test_the_slm_defaults_to_the_handle_name_in_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ASSISTERR_HANDLE_NAME", "env-slm")
    assert ChatAssisterr().model == "env-slm"
    assert ChatAssisterr(model_name="given-slm").model == "given-slm"  # an argument wins


def test_a_missing_model_names_both_ways_to_give_it_and_no_input_is_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ASSISTERR_HANDLE_NAME", raising=False)
    with pytest.raises(InvalidRequestError) as missing:
        ChatAssisterr(api_key="sk-very-secret")
    assert str(missing.value) == (
        "model: is required, the handle name of the Assisterr SLM to talk to: pass "
        'ChatAssisterr(model="my-slm") or set ASSISTERR_HANDLE_NAME')
    with pytest.raises(InvalidRequestError) as wrong:
        ChatAssisterr(model="slm", api_key="sk-very-secret", max_retries="many")
    assert "sk-very-secret" not in str(missing.value) + str(wrong.value)


def test_the_profile_says_text_only_with_tools_and_structured_output() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # langchain-core warns about keys it does not know
        profile = ChatAssisterr(model="slm").profile
    assert profile is not None
    assert {key for key, value in profile.items() if value} == {
        "text_inputs", "text_outputs", "tool_calling", "tool_choice", "tool_call_streaming",
        "structured_output"}
    for absent in ("image_inputs", "audio_inputs", "video_inputs", "pdf_inputs", "temperature"):
        assert profile[absent] is False  # type: ignore[literal-required]
    assert ChatAssisterr(model="slm", profile={"max_input_tokens": 8192}).profile == {
        "max_input_tokens": 8192}


def test_bytes_are_refused_at_every_entry_point_through_the_one_hook_we_override() -> None:
    """ChatAssisterr refuses bytes in langchain-core's private ``_convert_input``, where every
    entry point turns its input into messages (without it, bytes would read as a sequence of
    messages and fail obscurely). If this fails, langchain-core no longer routes some entry
    point through that hook: move the check to where input is now read."""
    model = ChatAssisterr(model="slm", api_key="k", base_url="http://127.0.0.1:9")

    async def astream() -> None:
        async for _ in model.astream(b"hi"):
            pass

    refused = "input: must be a string, messages or a prompt value, got bytes"
    for call in (lambda: model.invoke(b"hi"), lambda: list(model.stream(b"hi")),
                 lambda: model.batch([b"hi"]), lambda: asyncio.run(model.ainvoke(b"hi")),
                 lambda: asyncio.run(astream())):
        with pytest.raises(InvalidRequestError, match=refused):
            call()
