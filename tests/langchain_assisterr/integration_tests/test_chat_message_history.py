"""AssisterrChatMessageHistory against the local server: reads, checks, clearing, memory."""

from __future__ import annotations

import re
import warnings
from datetime import timedelta
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import ConfigurableField
from langchain_core.runnables.history import RunnableWithMessageHistory
from pydantic import SecretStr

from assisterr_core import InvalidRequestError, NotFoundError
from assisterr_emulator import EmulatorServer
from langchain_assisterr import (
    AssisterrChatMessageHistory,
    ChatAssisterr,
    MessageNotRecordedError,
    MessageNotRecordedWarning,
    adelete_sessions_older_than,
    alist_sessions,
    delete_sessions_older_than,
    list_sessions,
)

from ..conftest import HANDLE

FIRST = "Is the sky blue?"
RECALL = "What was my first question?"


def _contents(messages: list[Any]) -> list[tuple[str, str]]:
    return [(m.type, m.content) for m in messages]


@pytest.mark.parametrize("order", ["newest-first", "oldest-first"])
def test_round_trip_oldest_first_whatever_the_server_order(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, order: str
) -> None:
    assisterr_emulator.config.history_order = order
    history = AssisterrChatMessageHistory(HANDLE, **conn)
    chat = ChatAssisterr(model=HANDLE, session_id=history.session_id, **conn)
    chat.invoke(FIRST)
    chat.invoke(RECALL)
    messages = history.messages
    assert _contents(messages) == [
        ("human", FIRST),
        ("ai", f"Hello from {HANDLE}! You said: {FIRST}"),
        ("human", RECALL),
        ("ai", f'Your first question was: "{FIRST}"'),
    ]
    assert all(m.id for m in messages) and len({m.id for m in messages}) == 4
    stamps = [m.response_metadata["created_at"] for m in messages]
    assert stamps == sorted(stamps)
    assert {m.response_metadata["session_id"] for m in messages} == {history.session_id}


def test_without_session_id_a_session_is_created(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer
) -> None:
    history = AssisterrChatMessageHistory(
        model=HANDLE, api_key=SecretStr(conn["api_key"]), base_url=conn["base_url"]
    )
    assert [s.id for s in list_sessions(HANDLE, **conn)] == [history.session_id]
    assert history.messages == []
    assert repr(history) == (
        f"AssisterrChatMessageHistory(handle_name={HANDLE!r}, "
        f"session_id={history.session_id!r})"
    )


def test_add_messages_recognises_recorded_turns_and_writes_nothing(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str
) -> None:
    chat = ChatAssisterr(model=HANDLE, session_id=session_id, **conn)
    history = AssisterrChatMessageHistory.from_chat_model(chat)
    reply = chat.invoke("hello")
    history.add_messages([HumanMessage("hello"), reply])
    history.add_messages([reply])
    history.add_messages([])
    assert len(assisterr_emulator.history(session_id)) == 2
    assert [r.method for r in assisterr_emulator.requests] == ["POST", "GET", "GET"]


def test_add_messages_accepts_a_reply_cut_by_a_stop_sequence(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str
) -> None:
    chat = ChatAssisterr(model=HANDLE, session_id=session_id, stop=["!"], **conn)
    reply = chat.invoke("hello")
    assert reply.content == f"Hello from {HANDLE}"
    AssisterrChatMessageHistory(HANDLE, session_id, **conn).add_messages(
        [HumanMessage("hello"), reply]
    )


@pytest.mark.parametrize(
    "messages",
    [
        [HumanMessage("never asked")],
        [HumanMessage("hello"), AIMessage("a reply the server never gave")],
        [SystemMessage("be brief")],
    ],
)
def test_add_messages_refuses_what_the_server_cannot_store(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str,
    messages: list[Any],
) -> None:
    ChatAssisterr(model=HANDLE, session_id=session_id, **conn).invoke("hello")
    history = AssisterrChatMessageHistory(HANDLE, session_id, **conn)
    fix = re.escape("ChatAssisterr(model=..., session_id=...)")
    with pytest.raises(MessageNotRecordedError, match=fix), \
            pytest.warns(MessageNotRecordedWarning, match=fix) as shown:
        history.add_messages(messages)
    assert [w.filename for w in shown] == [__file__]  # the line that called add_messages
    assert len(assisterr_emulator.history(session_id)) == 2
    expected = ["POST"] if isinstance(messages[0], SystemMessage) else ["POST", "GET"]
    assert [r.method for r in assisterr_emulator.requests] == expected


def _wrapped(conn: dict[str, Any]) -> RunnableWithMessageHistory:
    """The documented wiring: one "session_id" config value drives model and history."""
    model = ChatAssisterr(model=HANDLE, **conn).configurable_fields(
        session_id=ConfigurableField(id="session_id")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langchain-core's own notice
        return RunnableWithMessageHistory(
            model,
            lambda sid: AssisterrChatMessageHistory(HANDLE, sid, **conn),
            history_factory_config=model.config_specs,
        )


def _expected_turns() -> list[tuple[str, str]]:
    return [
        ("user", FIRST), ("assistant", f"Hello from {HANDLE}! You said: {FIRST}"),
        ("user", RECALL), ("assistant", f'Your first question was: "{FIRST}"'),
    ]


@pytest.mark.parametrize("mode", ["invoke", "stream"])
def test_runnable_with_message_history_leaves_one_copy_of_each_turn(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str, mode: str
) -> None:
    chain = _wrapped(conn)
    config: Any = {"configurable": {"session_id": session_id}}
    for text in (FIRST, RECALL):
        if mode == "invoke":
            chain.invoke(text, config=config)
        else:
            assert len(list(chain.stream(text, config=config))) > 2
    assert assisterr_emulator.history(session_id) == _expected_turns()
    assert [r.query for r in assisterr_emulator.chat_requests()] == [FIRST, RECALL]
    assert {r.session_id for r in assisterr_emulator.chat_requests()} == {session_id}


def test_a_system_prompt_reaches_the_session_and_its_turns_are_recognised(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str
) -> None:
    model = ChatAssisterr(model=HANDLE, session_id=session_id, **conn)
    prompt = ChatPromptTemplate.from_messages([
        ("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{question}"),
    ])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langchain-core's own notice
        chain = RunnableWithMessageHistory(
            prompt | model,
            lambda sid: AssisterrChatMessageHistory(HANDLE, sid, **conn),
            input_messages_key="question", history_messages_key="history",
        )
    config: Any = {"configurable": {"session_id": session_id}}
    chain.invoke({"question": FIRST}, config=config)  # add_messages finds the turn recorded
    assert [r.query for r in assisterr_emulator.chat_requests()] == [f"Be brief.\n\n{FIRST}"]


async def test_a_model_outside_the_session_is_reported_on_the_first_turn(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str
) -> None:
    """langchain-core only logs what add_messages raises: the warning is what users see."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langchain-core's own notice
        chain = RunnableWithMessageHistory(
            ChatAssisterr(model=HANDLE, **conn),  # answers outside any session
            lambda sid: AssisterrChatMessageHistory(HANDLE, sid, **conn),
        )
    config: Any = {"configurable": {"session_id": session_id}}
    with pytest.warns(MessageNotRecordedWarning, match="configurable_fields"):
        await chain.ainvoke(FIRST, config=config)
    assert assisterr_emulator.history(session_id) == []


@pytest.mark.parametrize("mode", ["ainvoke", "astream"])
async def test_runnable_with_message_history_async(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str, mode: str
) -> None:
    chain = _wrapped(conn)
    config: Any = {"configurable": {"session_id": session_id}}
    for text in (FIRST, RECALL):
        if mode == "ainvoke":
            await chain.ainvoke(text, config=config)
        else:
            assert len([c async for c in chain.astream(text, config=config)]) > 2
    assert assisterr_emulator.history(session_id) == _expected_turns()


def test_the_same_loop_by_hand(conn: dict[str, Any], assisterr_emulator: EmulatorServer) -> None:
    history = AssisterrChatMessageHistory(HANDLE, **conn)
    chat = ChatAssisterr(model=HANDLE, session_id=history.session_id, **conn)
    for text in (FIRST, RECALL):
        reply = chat.invoke([*history.messages, HumanMessage(text)])
    assert reply.content == f'Your first question was: "{FIRST}"'
    assert assisterr_emulator.history(history.session_id) == _expected_turns()


def test_our_classes_emit_no_warnings(conn: dict[str, Any], session_id: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = AssisterrChatMessageHistory(HANDLE, session_id, **conn)
        chat = ChatAssisterr(model=HANDLE, session_id=session_id, **conn)
        chat.invoke("hi")
        history.add_messages(history.messages)
    assert caught == []


def test_clear_deletes_the_session(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, session_id: str
) -> None:
    history = AssisterrChatMessageHistory(HANDLE, session_id, **conn)
    ChatAssisterr(model=HANDLE, session_id=session_id, **conn).invoke("hi")
    history.clear()
    assert session_id not in assisterr_emulator.state.sessions
    assert history.session_id == session_id
    with pytest.raises(NotFoundError):
        history.messages  # noqa: B018


async def test_async_variants(conn: dict[str, Any], assisterr_emulator: EmulatorServer) -> None:
    history = await AssisterrChatMessageHistory.acreate(HANDLE, **conn)
    chat = ChatAssisterr(model=HANDLE, session_id=history.session_id, **conn)
    reply = await chat.ainvoke(FIRST)
    assert _contents(await history.aget_messages()) == [("human", FIRST), ("ai", reply.content)]
    await history.aadd_messages([HumanMessage(FIRST), reply])
    with pytest.raises(MessageNotRecordedError), pytest.warns(MessageNotRecordedWarning):
        await history.aadd_messages([HumanMessage("not recorded")])
    assert len(assisterr_emulator.history(history.session_id)) == 2
    await history.aclear()
    with pytest.raises(NotFoundError):
        await history.aget_messages()


async def test_unknown_session_is_not_found(conn: dict[str, Any]) -> None:
    history = AssisterrChatMessageHistory(HANDLE, "0123456789abcdef01234567", **conn)
    with pytest.raises(NotFoundError) as caught:
        history.messages  # noqa: B018
    assert caught.value.status_code == 404
    with pytest.raises(NotFoundError):
        await history.aget_messages()
    with pytest.raises(NotFoundError):
        history.clear()


@pytest.mark.parametrize("bad", ["", "a/b", "..", "a b", "x\n", "%2e%2e", "a?b"])
def test_bad_session_ids_are_rejected_before_any_request(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, bad: str
) -> None:
    with pytest.raises(InvalidRequestError):
        AssisterrChatMessageHistory(HANDLE, bad, **conn)
    with pytest.raises(InvalidRequestError):
        AssisterrChatMessageHistory(bad, "abc", **conn)
    assert assisterr_emulator.requests == []


async def test_the_slm_defaults_to_the_handle_name_in_the_environment(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASSISTERR_HANDLE_NAME", raising=False)
    with pytest.raises(InvalidRequestError, match=(
        r'model: .*AssisterrChatMessageHistory\(model="my-slm"\) or set ASSISTERR_HANDLE_NAME')):
        AssisterrChatMessageHistory(**conn)
    monkeypatch.setenv("ASSISTERR_HANDLE_NAME", "env-slm")
    made = AssisterrChatMessageHistory(**conn)
    awaited = await AssisterrChatMessageHistory.acreate(**conn)
    assert made.handle_name == awaited.handle_name == "env-slm"
    assert [(r.method, r.handle) for r in assisterr_emulator.requests] == [("POST", "env-slm")] * 2


def test_conflicting_handle_names_are_refused(conn: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="not two different names"):
        AssisterrChatMessageHistory("a", "s", model="b", **conn)


async def test_list_and_delete_old_sessions(
    conn: dict[str, Any], assisterr_emulator: EmulatorServer
) -> None:
    old = AssisterrChatMessageHistory(HANDLE, **conn).session_id
    new = AssisterrChatMessageHistory(HANDLE, **conn).session_id
    sessions = {s.id: s for s in await alist_sessions(HANDLE, **conn)}
    assert set(sessions) == {old, new}
    cutoff = sessions[new].updated_at
    assert cutoff is not None
    assert delete_sessions_older_than(HANDLE, cutoff, **conn) == [old]
    assert [s.id for s in list_sessions(HANDLE, **conn)] == [new]
    assert await adelete_sessions_older_than(HANDLE, cutoff, **conn) == []
    assert await adelete_sessions_older_than(HANDLE, timedelta(0), **conn) == [new]
    assert list_sessions(HANDLE, **conn) == []
