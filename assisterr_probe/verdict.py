"""What the core client makes of each recorded answer, judged offline by the core's own parsers.

Every answer the client could not read, or read as something else than expected, is a
finding; a finding is reported, never raised. Also the facts: framing, ids, order, shapes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assisterr_core.transport import (
    APIStatusError,
    AssisterrError,
    HistoryMessage,
    RetryPolicy,
    StreamDecoder,
    bounded_json_loads,
    chat_call,
    create_session_call,
    decode_json_body,
    delete_session_call,
    error_for_status,
    history_call,
    list_sessions_call,
    parse_retry_after,
)

from .exchanges import CLEANUP, Endpoint, Step, step_named, unusable_session_id
from .recording import Exchange, RecordedResponse, Recording
from .wire import (
    StreamWire,
    body_shape,
    describe_stream,
    history_order,
    list_shape,
    rate_limit_headers,
    session_id_form,
    slash_handling,
)


@dataclass(frozen=True)
class Row:
    """One exchange: its status, what the client made of it, and the finding if any."""

    exchange: str
    status: str
    outcome: str
    finding: str | None = None


@dataclass(frozen=True)
class Verdict:
    rows: tuple[Row, ...]
    facts: tuple[tuple[str, str], ...]

    @property
    def findings(self) -> list[str]:
        return [f"{row.exchange}: {row.finding}" for row in self.rows if row.finding]

    @property
    def understood(self) -> bool:
        """True when the client read every answer as expected."""
        return not self.findings


def judge(recording: Recording) -> Verdict:
    """The verdict on a recording; whatever it holds, this returns."""
    context = _Context(recording)
    rows = []
    for exchange in recording.exchanges:
        try:
            rows.append(context.row(exchange))
        except Exception as exc:  # a parser that breaks on an answer is itself a finding
            rows.append(Row(exchange.name, _status(exchange), "failed unexpectedly",
                            f"{type(exc).__name__}: {exc}"))
    try:
        facts = context.facts()
    except Exception as exc:  # a describer that breaks on an answer: said, not raised
        facts = [("facts", f"could not be described: {type(exc).__name__}: {exc}")]
    return Verdict(tuple(rows), tuple(facts))


def render(verdict: Verdict) -> str:
    """The verdict as a text table, then the facts, then one line of conclusion."""
    header = ("exchange", "status", "what the client made of it", "finding")
    table = [header] + [(r.exchange, r.status, r.outcome, r.finding or "-") for r in verdict.rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    lines = ["  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row))
             .rstrip() for row in table]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  -------")
    lines += ["", "What the service sent:"]
    name_width = max((len(name) for name, _ in verdict.facts), default=0)
    lines += [f"  {name.ljust(name_width)}  {value}" for name, value in verdict.facts]
    count = len(verdict.findings)
    lines += ["", "The client understood every answer." if not count else
              f"{count} finding(s): the client did not understand every answer."]
    return "\n".join(lines)


class _Context:
    """What one exchange's judgement needs from the others (the session id, the queries)."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        self.handle = recording.handle
        self.session_id = self._created_session_id()
        # the created session's id, or a stand-in where none came back that can be sent
        self.sid = (self.session_id if self.session_id
                    and unusable_session_id(self.session_id) is None else "unknown")
        listed = self._json_of("list_sessions")
        self.session_ids = {self.session_id} if self.session_id else set()
        for item in listed if isinstance(listed, list) else []:
            found = item.get("_id", item.get("id")) if isinstance(item, dict) else item
            if isinstance(found, str | int) and str(found):
                self.session_ids.add(str(found))
        self.streams: list[tuple[StreamWire, str]] = []

    def row(self, exchange: Exchange) -> Row:
        step = step_named("delete_session" if exchange.name == CLEANUP else exchange.name)
        status = _status(exchange)
        if step is None:
            return Row(exchange.name, status, "not a step of this probe")
        if exchange.skipped:
            return Row(exchange.name, status, f"not sent: {exchange.skipped}")
        response = exchange.response
        if response is None:
            finding = None if step.informative else f"no answer: {exchange.error}"
            return Row(exchange.name, status, "no answer", finding)
        if step.informative:
            return Row(exchange.name, status, slash_handling(exchange))
        if response.status >= 300:
            error = error_for_status(step.spec(self.handle, self.sid), response.status,
                                     dict(response.headers), response.body)
            return self._error_row(exchange, step, status, error)
        try:
            outcome, finding = self._read(exchange, step, response)
        except AssisterrError as exc:
            return self._error_row(exchange, step, status, exc)
        if step.expect:
            finding = f"the service answered {response.status}; expected {step.expect}"
        elif exchange.error:
            finding = f"the answer broke off: {exchange.error}"
        return Row(exchange.name, status, outcome, finding)

    def _error_row(self, exchange: Exchange, step: Step, status: str,
                   error: AssisterrError) -> Row:
        name = type(error).__name__
        detail = error.detail if isinstance(error, APIStatusError) else str(error)
        outcome = f"{name}: {_excerpt(self._without_ids(detail), 48)}"
        if step.expect and step.expect in (c.__name__ for c in type(error).__mro__):
            return Row(exchange.name, status, outcome)
        expected = step.expect or "a readable answer"
        if isinstance(error, APIStatusError) and RetryPolicy().delay_after_status(
                0, error.status_code, parse_retry_after(error.headers),
                replay=step.spec(self.handle, self.sid).replay) is not None:
            return Row(exchange.name, status, outcome, f"{name}: the client would wait and "
                       "send it again, the probe sends once; run the probe again later")
        return Row(exchange.name, status, outcome, f"the client raised {name}, expected {expected}")

    def _read(
        self, exchange: Exchange, step: Step, response: RecordedResponse
    ) -> tuple[str, str | None]:
        """What the client returns for this answer, and what is wrong with it (None: nothing).

        Raises what the client would raise.
        """
        if exchange.stream:
            return self._read_stream(exchange, response)
        spec = step.spec(self.handle, self.sid)
        payload = decode_json_body(response.body, spec)
        if step.endpoint is Endpoint.CHAT:
            body = exchange.request_json()
            query = body.get("query") if isinstance(body, dict) else None
            reply = chat_call(self.handle, query or "unused", self.sid).parse(payload)
            return f"reply: {_excerpt(reply.text)}", None
        if step.endpoint is Endpoint.CREATE:
            created = create_session_call(self.handle).parse(payload)
            problem = unusable_session_id(created)
            return f"a session id ({session_id_form(created)})", None if problem is None else (
                f"the client cannot send this session id back: {problem}")
        if step.endpoint is Endpoint.LIST:
            sessions = list_sessions_call(self.handle).parse(payload)
            listed = any(s.id == self.session_id for s in sessions)
            return (f"{len(sessions)} session(s), the new one "
                    f"{'listed' if listed else 'not listed'}"), None
        if step.endpoint is Endpoint.HISTORY:
            messages = history_call(self.handle, self.sid).parse(payload)
            return f"{len(messages)} messages", self._check_history(messages)
        deleted = delete_session_call(self.handle, self.sid).parse(payload)
        return f"deleted ({json.dumps(deleted)})", None

    def _read_stream(
        self, exchange: Exchange, response: RecordedResponse
    ) -> tuple[str, str | None]:
        wire = describe_stream(response)
        decoder = StreamDecoder(response.content_type or None)
        text = "".join("".join(decoder.feed(c.data)) for c in response.pieces)
        if exchange.error is None:
            text += "".join(decoder.close())
        framing = decoder.framing.value if decoder.framing else "undetected"
        self.streams.append((wire, framing))
        finding = None
        if wire.format == "html":
            finding = "an HTML page on a stream endpoint, read as if it were the reply"
        elif not text:
            finding = "the stream carried no text"
        return f"streamed ({framing}): {_excerpt(text)}", finding

    def _check_history(self, messages: Sequence[HistoryMessage]) -> str | None:
        """The questions asked in the session must be there, oldest first."""
        users = [m.text for m in messages if m.is_user]
        sent = [query for name in ("session_chat", "session_stream")
                if (query := self._answered_query(name)) is not None]
        missing = [q for q in sent if q not in users]
        if missing:
            return f"the history lacks {len(missing)} of the {len(sent)} questions sent"
        positions = [users.index(q) for q in sent]
        if positions != sorted(positions):
            return "the client put the session's questions in the wrong order"
        return None

    def _answered_query(self, name: str) -> str | None:
        exchange = self.recording.exchange(name)
        if exchange is None or exchange.response is None or exchange.response.status >= 300:
            return None
        body = exchange.request_json()
        return body.get("query") if isinstance(body, dict) else None

    def _created_session_id(self) -> str | None:
        exchange = self.recording.exchange("create_session")
        if exchange is None or exchange.response is None or exchange.response.status >= 300:
            return None
        call = create_session_call(self.handle)
        try:
            return call.parse(decode_json_body(exchange.response.body, call.spec))
        except AssisterrError:
            return None

    def _without_ids(self, text: str) -> str:
        """``text`` with the run's session ids as a placeholder: they differ between runs."""
        for session_id in self.session_ids:
            text = text.replace(session_id, "{session id}")
        return text

    def facts(self) -> list[tuple[str, str]]:
        facts: list[tuple[str, str]] = []
        if self.streams:
            wire, framing = self.streams[0]
            facts.append(("stream framing", f"{wire.summary()} (the client reads it as "
                                            f"{framing})"))
            facts.append(("stream chunking", wire.chunking()))
        if self.session_id is not None:
            facts.append(("session ids", session_id_form(self.session_id)))
        listed = self._json_of("list_sessions")
        if listed is not _NOTHING:
            facts.append(("session list", list_shape(listed)))
        history = self._json_of("history")
        if history is not _NOTHING:
            facts.append(("history order", history_order(history)))
        slashless = self.recording.exchange("no_trailing_slash")
        if slashless is not None:
            facts.append(("without the trailing slash", slash_handling(slashless)))
        errors = [f"{e.response.status} {body_shape(e.response)}"
                  for e in self.recording.exchanges
                  if (step := step_named(e.name)) is not None and step.expect
                  and e.response is not None]
        if errors:
            facts.append(("error answers", "; ".join(errors)))
        responses = [r for e in self.recording.exchanges
                     for r in (*e.redirects, *([e.response] if e.response else []))]
        limits = rate_limit_headers(responses)
        facts.append(("rate-limit headers", ", ".join(limits) if limits else "none seen"))
        return facts

    def _json_of(self, name: str) -> Any:
        exchange = self.recording.exchange(name)
        if exchange is None or exchange.response is None or exchange.response.status >= 300:
            return _NOTHING
        try:
            return bounded_json_loads(exchange.response.body)
        except ValueError:
            return _NOTHING


_NOTHING = object()


def _status(exchange: Exchange) -> str:
    if exchange.skipped:
        return "-"
    statuses = [str(r.status) for r in exchange.redirects]
    statuses.append(str(exchange.response.status) if exchange.response else "none")
    status = "->".join(statuses)
    return status + " cut" if exchange.error and exchange.response else status


def _excerpt(text: str, width: int = 36) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= width else flat[: width - 1] + "…")
