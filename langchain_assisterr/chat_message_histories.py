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

from assisterr_core import InvalidRequestError
from assisterr_core.transport import (
    ClientSettings,
    SharedClients,
    check_identifier,
    detached,
    handle_name_from_env,
)

from ._messages import from_history
from ._recorded import (
    MessageNotRecordedError,
    MessageNotRecordedWarning,
    check_recorded,
    recordable_turns,
    warned_if_not_recorded,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from assisterr_core import AssisterrClient, AsyncAssisterrClient
    from assisterr_core.transport import SettingsFields

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

    The SLM: ``handle_name`` (or ``model``), else ``ASSISTERR_HANDLE_NAME``.

    Connections: ``client`` and ``async_client`` (yours, never closed here), else
    ``settings``, else the connection settings of ``ChatAssisterr`` (``api_key``,
    ``base_url``, ``timeout``, ``max_retries``, ``max_connections``, ``proxy``, ``verify``;
    the environment fills the rest). Clients are shared as ``ChatAssisterr`` shares them.
    """

    def __init__(
        self,
        handle_name: str | None = None,
        session_id: str | None = None,
        *,
        model: str | None = None,
        client: AssisterrClient | None = None,
        async_client: AsyncAssisterrClient | None = None,
        settings: ClientSettings | None = None,
        **fields: Unpack[SettingsFields],
    ) -> None:
        self.handle_name = _handle(handle_name, model)
        if session_id is not None:
            check_identifier(session_id, "session_id")
        refusal = None
        try:
            self._clients = connected(client, async_client, settings, fields)
        except InvalidRequestError as error:
            refusal = detached(error)
        if refusal is not None:
            fields.pop("api_key", None)  # the refusal's traceback shows this frame: no key in it
            raise refusal
        self.session_id = session_id or self._client.create_session(self.handle_name)

    @classmethod
    def from_chat_model(
        cls, model: ChatAssisterr, session_id: str | None = None
    ) -> AssisterrChatMessageHistory:
        """A history on the model's SLM and connection (``session_id`` defaults to its own)."""
        clients = model._connection()
        return cls(model.model, session_id or model.session_id, settings=clients.settings,
                   client=model.client, async_client=model.async_client)

    @classmethod
    async def acreate(
        cls,
        handle_name: str | None = None,
        *,
        model: str | None = None,
        client: AssisterrClient | None = None,
        async_client: AsyncAssisterrClient | None = None,
        settings: ClientSettings | None = None,
        **fields: Unpack[SettingsFields],
    ) -> AssisterrChatMessageHistory:
        """Create a session on the server without blocking the event loop."""
        handle_name = _handle(handle_name, model)
        clients = connected(client, async_client, settings, fields)
        session_id = await clients.async_client.create_session(handle_name)
        return cls(handle_name, session_id, client=client, async_client=async_client,
                   settings=clients.settings)

    @property
    def _client(self) -> AssisterrClient:
        return self._clients.client

    @property
    def _async_client(self) -> AsyncAssisterrClient:
        return self._clients.async_client

    def close(self) -> None:
        """Release the connections of the clients this history uses (as
        ``ChatAssisterr.close`` does)."""
        self._clients.close()

    async def aclose(self) -> None:
        await self._clients.aclose()

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


def _handle(handle_name: str | None, model: str | None) -> str:
    """The SLM, given as ``handle_name`` or ``model`` (not two different names), else read
    from ``ASSISTERR_HANDLE_NAME``."""
    if handle_name is not None and model is not None and handle_name != model:
        raise ValueError("pass the SLM as handle_name or model, not two different names")
    handle = handle_name if handle_name is not None else model
    if handle is None:
        handle = handle_name_from_env("AssisterrChatMessageHistory")
    return check_identifier(handle, "handle_name")


def connected(
    client: AssisterrClient | None, async_client: AsyncAssisterrClient | None,
    settings: ClientSettings | None, fields: SettingsFields,
) -> SharedClients:
    """The clients of a history or a session helper, as :meth:`SharedClients.connect` picks
    them; a pydantic ``SecretStr`` key (LangChain's usual type) is unwrapped."""
    key = fields.get("api_key")
    if isinstance(key, SecretStr):
        fields = {**fields, "api_key": key.get_secret_value()}
    return SharedClients.connect(client=client, async_client=async_client, settings=settings,
                                 **fields)
