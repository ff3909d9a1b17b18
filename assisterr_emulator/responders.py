"""Who plays the model: a deterministic, history-aware default, or the caller's own."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from assisterr_core.chat import TRANSCRIPT_LABELS

from .play import play_react, play_tools

_FIRST_QUESTION = re.compile(r"\b(first|earliest|initial)\s+(question|message)\b", re.I)
_USER_LABEL = TRANSCRIPT_LABELS["user"] + ": "
_TRANSCRIPT_USER = re.compile(rf"^{re.escape(_USER_LABEL)}(.*)$", re.M)
_QUESTION_LINE = re.compile(r"^(?:Query|Question|Query_str):\s*(.+)$", re.M | re.I)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_WORD = re.compile(r"[a-z0-9]+")
_STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "does", "do", "for", "from", "how", "in",
    "is", "it", "many", "of", "on", "one", "or", "per", "the", "to", "what", "when", "where",
    "which", "who", "why", "with",
))


@dataclass(frozen=True)
class ResponderRequest:
    """One question to answer: the SLM handle, the query, and the session's earlier turns."""

    handle: str
    query: str
    session_id: str | None
    history: Sequence[tuple[str, str]]  # (role, text), oldest first, before this query


Responder = Callable[[ResponderRequest], "str | Iterable[str]"]


def default_responder(request: ResponderRequest) -> str:
    """Deterministic replies: plays tool calls, recalls the first question, else echoes.

    Queries that carry the core's tool or JSON instructions, or LlamaIndex's ReAct format,
    are answered by :mod:`.play` (tools offered but none fitting, it answers as below).
    It reads earlier turns from the session history, or from a transcript rendered into
    the query ("User: ..." lines), so memory works in both modes; only the newest user
    message asks for the first question. A retrieval prompt is answered from its context,
    else its question line is echoed.
    """
    played = play_tools(request.query, request.handle) or play_react(request.query, request.handle)
    if played is not None:
        return played
    if _FIRST_QUESTION.search(_newest_user_message(request.query)):
        earlier = [text for role, text in request.history if role == "user"]
        if not earlier:
            earlier = _TRANSCRIPT_USER.findall(request.query)[:-1]
        if earlier:
            return f'Your first question was: "{earlier[0]}"'
        return "This is the first question you have asked me."
    grounded = _answer_from_context(request.query)
    if grounded:
        return f"Hello from {request.handle}! From the context: {grounded}"
    questions = _QUESTION_LINE.findall(request.query)
    last_line = questions[-1] if questions else request.query.strip().splitlines()[-1]
    last_line = last_line.removeprefix(_USER_LABEL)
    return f"Hello from {request.handle}! You said: {last_line}"


def _newest_user_message(query: str) -> str:
    """What the user asks now: the text after a transcript's last "User:" label (earlier
    turns may ask other things), else the whole query."""
    labels = list(_TRANSCRIPT_USER.finditer(query))
    return query[labels[-1].start():] if labels else query


def _answer_from_context(query: str) -> str | None:
    """For a retrieval prompt (context, then a "Query:" line), the best-matching sentence."""
    questions = list(_QUESTION_LINE.finditer(query))
    if not questions or "context" not in query.lower():
        return None
    question = questions[-1]
    wanted = _words(question.group(1))
    best, best_score = None, 0
    for sentence in _SENTENCE.findall(query[: question.start()]):
        sentence = sentence.strip()
        score = len(wanted & _words(sentence))
        if score > best_score and "context" not in sentence.lower():
            best, best_score = sentence, score
    return best


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower())) - _STOP_WORDS


class ScriptedResponder:
    """Plays back replies in order, one per request; complains when it runs out."""

    def __init__(self, replies: Iterable[str | Iterable[str]]) -> None:
        self._replies = list(replies)
        self._lock = threading.Lock()
        self.queries: list[str] = []

    def __call__(self, request: ResponderRequest) -> str | Iterable[str]:
        with self._lock:
            self.queries.append(request.query)
            if not self._replies:
                raise LookupError("the scripted responder has no reply left")
            return self._replies.pop(0)

    @property
    def remaining(self) -> int:
        return len(self._replies)


def split_words(text: str) -> list[str]:
    """Word-by-word chunks that join back to ``text`` exactly."""
    chunks = re.findall(r"\s*\S+", text)
    tail = text[len("".join(chunks)) :]
    if tail:
        chunks.append(tail)
    return chunks or [text]
