"""LangChain conformance: conversation memory, in LangGraph and in server-side sessions."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import ConfigurableField, Runnable
from langchain_core.runnables.history import RunnableWithMessageHistory
from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph

from assisterr_emulator import EmulatorServer
from langchain_assisterr import AssisterrChatMessageHistory, MessageNotRecordedWarning

from ._langchain import HANDLE, connection, history_on, model_on
from .conftest import pattern

FIRST, RECALL = "Hi, I am Ada.", "What was my first question?"


def with_history(server: EmulatorServer, runnable: Runnable[Any, Any], **keys: Any
                 ) -> RunnableWithMessageHistory:
    conn = connection(server)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # langchain-core's own notice
        return RunnableWithMessageHistory(
            runnable,
            lambda session_id: AssisterrChatMessageHistory(model=HANDLE, session_id=session_id,
                                                           **conn),
            **keys,
        )


@pattern("LangChain", "StateGraph chatbot with MemorySaver",
         "two threads: each query carries its own thread's turns and no other's")
def test_state_graph_chatbot_with_memory_saver(assisterr_emulator: EmulatorServer) -> None:
    model = model_on(assisterr_emulator)

    def chatbot(state: MessagesState) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("chatbot", chatbot)
    graph.add_edge(START, "chatbot")
    graph.add_edge("chatbot", END)
    app = graph.compile(checkpointer=MemorySaver())
    ada, other = ({"configurable": {"thread_id": t}} for t in ("ada", "other"))
    app.invoke({"messages": [("user", FIRST)]}, ada)
    remembered = app.invoke({"messages": [("user", RECALL)]}, ada)
    fresh = app.invoke({"messages": [("user", RECALL)]}, other)
    assert remembered["messages"][-1].text == f'Your first question was: "{FIRST}"'
    assert fresh["messages"][-1].text == "This is the first question you have asked me."
    assert (len(remembered["messages"]), len(fresh["messages"])) == (4, 2)
    queries = [r.query for r in assisterr_emulator.chat_requests()]
    assert queries[0] == FIRST and queries[2] == RECALL and FIRST in queries[1]


@pattern("LangChain", "RunnableWithMessageHistory (README pattern)", "the model's session_id "
         "configurable with the history's: the server holds each turn exactly once")
def test_runnable_with_message_history_readme_pattern(
    assisterr_emulator: EmulatorServer,
) -> None:
    model = model_on(assisterr_emulator).configurable_fields(
        session_id=ConfigurableField(id="session_id"))
    chain = with_history(assisterr_emulator, model, history_factory_config=model.config_specs)
    sid = history_on(assisterr_emulator).session_id
    config: Any = {"configurable": {"session_id": sid}}
    with warnings.catch_warnings():
        warnings.simplefilter("error", MessageNotRecordedWarning)
        chain.invoke(FIRST, config=config)
        recalled = chain.invoke(RECALL, config=config)
    assert recalled.text == f'Your first question was: "{FIRST}"'
    assert assisterr_emulator.history(sid) == [
        ("user", FIRST), ("assistant", f"Hello from {HANDLE}! You said: {FIRST}"),
        ("user", RECALL), ("assistant", recalled.text)]
    assert [r.query for r in assisterr_emulator.chat_requests()] == [FIRST, RECALL]


@pattern("LangChain", "RunnableWithMessageHistory over a prompt and the model",
         "a model outside the session is reported on the first turn with the fix; "
         "with its session configurable, the turns are kept once")
def test_runnable_with_message_history_prompt_and_model(
    assisterr_emulator: EmulatorServer,
) -> None:
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{question}")])
    keys = {"input_messages_key": "question", "history_messages_key": "history"}
    outside = with_history(assisterr_emulator, prompt | model_on(assisterr_emulator), **keys)
    lost = history_on(assisterr_emulator).session_id
    with pytest.warns(MessageNotRecordedWarning, match="configurable_fields"):
        outside.invoke({"question": FIRST}, config={"configurable": {"session_id": lost}})
    assert assisterr_emulator.history(lost) == []

    model = model_on(assisterr_emulator).configurable_fields(
        session_id=ConfigurableField(id="session_id"))
    inside = with_history(assisterr_emulator, prompt | model,
                          history_factory_config=model.config_specs, **keys)
    kept = history_on(assisterr_emulator).session_id
    config: Any = {"configurable": {"session_id": kept}}
    inside.invoke({"question": FIRST}, config=config)
    recalled = inside.invoke({"question": RECALL}, config=config)
    assert FIRST in recalled.text
    turns = assisterr_emulator.history(kept)
    assert [role for role, _ in turns] == ["user", "assistant"] * 2
    assert turns[0][1] == f"Be brief.\n\n{FIRST}"  # the session stores the system text with it
