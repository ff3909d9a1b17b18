"""Is a message already recorded in a session? Pure code for the history's ``add_messages``.

Assisterr records a turn only when it answers it through a session endpoint; no endpoint
writes arbitrary messages. So ``add_messages`` can only confirm that the messages it is
given are the session's latest turns (what ``RunnableWithMessageHistory`` passes right
after the model answered in that session) and must refuse anything else.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from assisterr_core import HistoryMessage, InvalidRequestError

from ._messages import message_text


class MessageNotRecordedError(InvalidRequestError):
    """Messages given to ``add_messages`` that the Assisterr session has not recorded.

    The API cannot store them: talk through ``ChatAssisterr(session_id=...)`` so the server
    records each turn as it answers. Nothing was sent.
    """


class MessageNotRecordedWarning(UserWarning):
    """The same news as :class:`MessageNotRecordedError`, shown where it would be lost:
    ``RunnableWithMessageHistory`` calls ``add_messages`` from a callback whose errors
    langchain-core only logs, so a conversation would forget its turns without a word."""


_HOW_TO_RECORD = (
    "Assisterr records a turn only when the model answers it in that session and cannot"
    " store other messages, so the history will not hold it. Let the model talk in the"
    " session: ChatAssisterr(model=..., session_id=...), or, under"
    " RunnableWithMessageHistory, make the model's session configurable"
    ' (model.configurable_fields(session_id=ConfigurableField(id="session_id"))) and pass'
    " history_factory_config=model.config_specs (README: \"Memory with"
    ' RunnableWithMessageHistory")'
)


@contextmanager
def warned_if_not_recorded() -> Iterator[None]:
    """Re-raise a :class:`MessageNotRecordedError` after a warning that says the same."""
    try:
        yield
    except MessageNotRecordedError as error:
        # 1: here, 2: contextlib's __exit__, 3: add_messages, 4: whoever called it
        warnings.warn(str(error), MessageNotRecordedWarning, stacklevel=4)
        raise


def recordable_turns(messages: Sequence[BaseMessage]) -> list[tuple[bool, str]]:
    """``(is_user, text)`` of each message; raises for kinds a session cannot hold."""
    return [_role_and_text(message, index) for index, message in enumerate(messages)]


def check_recorded(
    messages: Sequence[BaseMessage], recorded: Sequence[HistoryMessage], session_id: str
) -> None:
    """Raise unless ``messages`` are, in order, the last turns of ``recorded`` (oldest first)."""
    turns = recordable_turns(messages)
    tail = list(recorded)[-len(turns):] if turns else []
    offset = len(turns) - len(tail)  # messages older than the whole history
    for index, (is_user, text) in enumerate(turns):
        turn = tail[index - offset] if index >= offset else None
        if turn is None or not _same(is_user, text, turn):
            raise MessageNotRecordedError(
                f"messages[{index}]",
                f"{_preview(messages[index])} is not among the latest turns of session"
                f" {session_id!r}. {_HOW_TO_RECORD}",
            )


def _role_and_text(message: BaseMessage, index: int) -> tuple[bool, str]:
    if isinstance(message, HumanMessage):
        return True, message_text(message, index)
    if isinstance(message, AIMessage):
        return False, message_text(message, index)
    raise MessageNotRecordedError(
        f"messages[{index}]",
        f"a session holds only user messages and SLM replies, not a {type(message).__name__}."
        f" {_HOW_TO_RECORD}",
    )


def _same(is_user: bool, text: str, turn: HistoryMessage) -> bool:
    if is_user != turn.is_user:
        return False
    if is_user:  # a session's query may wrap the message in system text or markup
        message = text.strip()
        return message == turn.text.strip() or (bool(message) and message in turn.text)
    # A reply cut client-side by a stop sequence is a prefix of the recorded reply.
    return turn.text.strip().startswith(text.strip())


def _preview(message: BaseMessage) -> str:
    text = message.text
    short = text if len(text) <= 60 else text[:57] + "..."
    return f"{type(message).__name__}({short!r})"
