"""``AssisterrChatMessageHistory``: a LangChain chat history stored in an Assisterr session.

The server records a turn when it answers it in a session, so the model writes the
history and this class reads it. One config value can drive both::

    model = ChatAssisterr(model="my-slm").configurable_fields(
        session_id=ConfigurableField(id="session_id")
    )
    chain = RunnableWithMessageHistory(
        model,
        lambda sid: AssisterrChatMessageHistory("my-slm", sid),
        history_factory_config=model.config_specs,  # the same "session_id" spec for both
    )
    chain.invoke("Hi!", config={"configurable": {"session_id": sid}})

langchain-core deprecates ``BaseChatMessageHistory`` and ``RunnableWithMessageHistory``
(removal in 2.0). For new code, keep the session id yourself and call
``ChatAssisterr(model=..., session_id=sid).invoke(text)``; read the conversation with
``AssisterrChatMessageHistory(..., sid).messages``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import BaseMessage
from pydantic import SecretStr

from assisterr_core.transport import TimeoutLike, check_identifier

from . import _clients
from ._messages import from_history
from ._recorded import (
    MessageNotRecordedError,
    MessageNotRecordedWarning,
    check_recorded,
    recordable_turns,
    warned_if_not_recorded,
)

if TYPE_CHECKING:
    from assisterr_core import AssisterrClient, AsyncAssisterrClient

    from .chat_models import ChatAssisterr

__all__ = ["AssisterrChatMessageHistory", "MessageNotRecordedError", "MessageNotRecordedWarning"]


class AssisterrChatMessageHistory(BaseChatMessageHistory):
    """The messages of one Assisterr session, oldest first, as Human/AI messages.

    Without ``session_id`` a new session is created on the server (one request) and its
    id is exposed as :attr:`session_id`; :meth:`acreate` does the same without blocking.

    ``add_messages`` writes nothing, since the API cannot: it checks that the messages are
    the session's latest turns (recorded when the model answered them in this session)
    and raises :class:`MessageNotRecordedError` for any that are not, after a
    :class:`MessageNotRecordedWarning` saying the same: ``RunnableWithMessageHistory``
    calls it from a callback and only logs its errors, and the warning is shown anyway,
    on the first turn that is lost.

    ``clear`` deletes the session on the server. :attr:`session_id` keeps the deleted id,
    so later reads and chats with it raise ``assisterr_core.NotFoundError``; create a new
    history (or session) to start over.
    """

    def __init__(
        self,
        handle_name: str | None = None,
        session_id: str | None = None,
        *,
        model: str | None = None,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
        client: AssisterrClient | None = None,
    ) -> None:
        handle = handle_name if handle_name is not None else model
        if handle_name is not None and model is not None and handle_name != model:
            raise ValueError("pass the SLM as handle_name or model, not two different names")
        self.handle_name = check_identifier(handle, "handle_name")
        if session_id is not None:
            check_identifier(session_id, "session_id")
        self._client = _clients.connect(
            client=client, api_key=api_key, base_url=base_url, timeout=timeout,
            max_retries=max_retries,
        )
        self.session_id = session_id or self._client.create_session(self.handle_name)

    @classmethod
    def from_chat_model(
        cls, model: ChatAssisterr, session_id: str | None = None
    ) -> AssisterrChatMessageHistory:
        """A history on the model's SLM and connection (``session_id`` defaults to its own)."""
        return cls(model.model, session_id or model.session_id, client=model._client)

    @classmethod
    async def acreate(
        cls,
        handle_name: str,
        *,
        api_key: str | SecretStr | None = None,
        base_url: str | None = None,
        timeout: TimeoutLike | None = None,
        max_retries: int | None = None,
        client: AssisterrClient | None = None,
    ) -> AssisterrChatMessageHistory:
        """Create a session on the server without blocking the event loop."""
        sync = _clients.connect(
            client=client, api_key=api_key, base_url=base_url, timeout=timeout,
            max_retries=max_retries,
        )
        session_id = await _clients.async_client(sync.settings).create_session(handle_name)
        return cls(handle_name, session_id, client=sync)

    @property
    def _async_client(self) -> AsyncAssisterrClient:
        return _clients.async_client(self._client.settings)

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The session's messages from the server, oldest first."""
        recorded = self._client.get_history(self.handle_name, self.session_id)
        return [from_history(message) for message in recorded]

    async def aget_messages(self) -> list[BaseMessage]:
        recorded = await self._async_client.get_history(self.handle_name, self.session_id)
        return [from_history(message) for message in recorded]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Confirm that ``messages`` are already recorded; warn and raise for any that are
        not."""
        with warned_if_not_recorded():
            if recordable_turns(messages):  # refuse what a session cannot hold before asking
                recorded = self._client.get_history(self.handle_name, self.session_id)
                check_recorded(messages, recorded, self.session_id)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        with warned_if_not_recorded():
            if recordable_turns(messages):
                recorded = await self._async_client.get_history(self.handle_name,
                                                                self.session_id)
                check_recorded(messages, recorded, self.session_id)

    def clear(self) -> None:
        """Delete the session on the server (see the class docs for what follows)."""
        self._client.delete_session(self.handle_name, self.session_id)

    async def aclear(self) -> None:
        await self._async_client.delete_session(self.handle_name, self.session_id)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(handle_name={self.handle_name!r}, "
            f"session_id={self.session_id!r})"
        )
