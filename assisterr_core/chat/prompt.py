"""From a conversation to the one ``query`` string the Assisterr API takes. Pure code.

The API has no message list and no system field, so a chat framework's messages are
rendered into a single query:

- one user message and nothing else is sent exactly as it is;
- otherwise :func:`transcript_template` writes the system text, the earlier turns
  labelled, and the final user message;
- :class:`Llama3Template` writes Llama-3 header blocks instead (the form Assisterr's own
  example uses), and any callable taking the turns can replace both.

With a server-side session the earlier user and assistant turns are already on the server
(but no system text): :func:`session_query` sends the system text with the new turns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from ..transport.errors import InvalidRequestError
from ..transport.validation import check_query

ROLES = ("system", "user", "assistant", "tool")
_ROLE_ALIASES = {"human": "user", "ai": "assistant", "model": "assistant", "developer": "system",
                 "function": "tool", "chatbot": "assistant"}
TRANSCRIPT_LABELS = {"user": "User", "assistant": "Assistant", "system": "System",
                     "tool": "Tool result"}
"""How :func:`transcript_template` labels each role's lines ("Tool result (name)" for a named
tool)."""
TRANSCRIPT_HEADING = "Conversation so far:"
"""The heading over the earlier turns of a transcript."""


@dataclass(frozen=True)
class ChatTurn:
    """One message of a conversation, reduced to what the API can carry: a role and text."""

    role: str
    text: str
    name: str | None = None


QueryTemplate = Callable[[Sequence[ChatTurn]], str]
TurnLike = ChatTurn | tuple[str, str]


def normalize_turns(turns: Iterable[TurnLike]) -> list[ChatTurn]:
    """Check roles and texts; accept ``(role, text)`` pairs and common role aliases."""
    result: list[ChatTurn] = []
    for index, turn in enumerate(turns):
        if isinstance(turn, tuple) and len(turn) == 2:
            turn = ChatTurn(turn[0], turn[1])
        if not isinstance(turn, ChatTurn):
            raise InvalidRequestError(f"messages[{index}]", "must be a ChatTurn or (role, text)")
        role = _ROLE_ALIASES.get(str(turn.role).lower(), str(turn.role).lower())
        if role not in ROLES:
            raise InvalidRequestError(f"messages[{index}]", f"unknown role {turn.role!r}")
        if not isinstance(turn.text, str):
            raise InvalidRequestError(f"messages[{index}]", "text must be a string")
        result.append(ChatTurn(role, turn.text, turn.name))
    if not result:
        raise InvalidRequestError("messages", "must contain at least one message")
    return result


def render_query(turns: Iterable[TurnLike], template: QueryTemplate | None = None) -> str:
    """Render a conversation into one query, checked like any query."""
    normalized = normalize_turns(turns)
    query = (template or transcript_template)(normalized)
    return check_query(query, "rendered query")


def latest_user_text(turns: Iterable[TurnLike]) -> str:
    """The newest user message: all a server-side session needs, it holds the rest."""
    normalized = normalize_turns(turns)
    last = normalized[-1]
    if last.role != "user":
        raise InvalidRequestError(
            "messages",
            f"in session mode the last message must come from the user, not {last.role!r}",
        )
    return check_query(last.text)


def session_query(
    turns: Iterable[TurnLike],
    template: QueryTemplate | None = None,
    *,
    instructions: str | None = None,
) -> str:
    """The query for a session: the system text, then what the server has not seen yet.

    The server keeps each user message and reply it answered in the session, but no
    system text, so that is sent every time (with ``instructions``, such as tool
    instructions, after it). Without instructions the new turn must be the user's newest
    message, sent exactly as it is when there is no system text; with them, every turn
    after the newest reply goes (tool results, say).
    """
    normalized = normalize_turns(turns)
    system = [turn for turn in normalized if turn.role == "system" and turn.text.strip()]
    if instructions is None:
        latest = latest_user_text(normalized)
        if not system:
            return latest
        pending = [ChatTurn("user", latest)]
    else:
        system.append(ChatTurn("system", instructions))
        last_reply = max(
            (i for i, turn in enumerate(normalized) if turn.role == "assistant"), default=-1
        )
        pending = [turn for turn in normalized[last_reply + 1 :] if turn.role != "system"]
    return render_query([*system, *pending], template)


def transcript_template(turns: Sequence[ChatTurn]) -> str:
    """The default: a readable transcript, or the lone user message untouched."""
    if len(turns) == 1 and turns[0].role == "user":
        return turns[0].text
    system = [turn.text for turn in turns if turn.role == "system" and turn.text.strip()]
    dialogue = [turn for turn in turns if turn.role != "system"]
    final = dialogue.pop() if dialogue and dialogue[-1].role == "user" else None
    sections = ["\n\n".join(system)] if system else []
    if dialogue:
        lines = "\n".join(f"{_label(turn)}: {turn.text}" for turn in dialogue)
        sections.append(f"{TRANSCRIPT_HEADING}\n{lines}")
    if final is not None:
        sections.append(f"User: {final.text}" if dialogue else final.text)
    return "\n\n".join(sections)


class Llama3Template:
    """Llama-3 chat headers as Assisterr's own example writes them (its ``slm.py``): each
    block is a header, one newline, the text and ``<|eot_id|>`` then a newline, and the
    query ends with an open assistant header for the reply. No ``<|begin_of_text|>``: the
    example sends none (the service adds its own)."""

    start_header = "<|start_header_id|>"
    end_header = "<|end_header_id|>"
    end_of_turn = "<|eot_id|>"

    def __call__(self, turns: Sequence[ChatTurn]) -> str:
        blocks = [f"{self._header(_llama_role(turn))}{turn.text}{self.end_of_turn}\n"
                  for turn in turns]
        return "".join(blocks) + self._header("assistant")

    def _header(self, role: str) -> str:
        return f"{self.start_header}{role}{self.end_header}\n"

    def __repr__(self) -> str:
        return "Llama3Template()"


def _label(turn: ChatTurn) -> str:
    label = TRANSCRIPT_LABELS[turn.role]
    return f"{label} ({turn.name})" if turn.name and turn.role == "tool" else label


def _llama_role(turn: ChatTurn) -> str:
    return "ipython" if turn.role == "tool" else turn.role
