"""Client-side stop sequences: the API has none, so replies are cut here. Pure code.

:class:`StopSequenceCutter` is fed the deltas of a stream and returns what may be shown
now: text that could still be the start of a stop sequence is held back until the next
delta settles it, so a stop sequence split across two chunks is still caught.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator, Sequence

from ..transport.errors import InvalidRequestError


def stop_sequences(stop: object, field: str = "stop") -> list[str]:
    """The stop sequences a caller gave: a string is one sequence (not its characters), a
    list or tuple holds several; empty ones mean nothing. Anything else is refused."""
    if stop is None:
        return []
    if isinstance(stop, str):
        return [stop] if stop else []
    if isinstance(stop, list | tuple) and all(isinstance(item, str) for item in stop):
        return [item for item in stop if item]
    shown = type(stop).__name__ if not isinstance(stop, list | tuple) else (
        "a list holding " + ", ".join(sorted({type(i).__name__ for i in stop
                                              if not isinstance(i, str)})))
    raise InvalidRequestError(field, f"must be a string or a list of strings, got {shown}")


class StopSequenceCutter:
    """Cut a streamed reply before the first stop sequence."""

    def __init__(self, stop: Sequence[str] | None) -> None:
        self.stop = [s for s in (stop or []) if s]
        self._held = ""
        self.stopped = False
        self._longest = max((len(s) for s in self.stop), default=0)

    def feed(self, delta: str) -> str:
        """The part of the reply that is safe to emit after this delta ("" if none)."""
        if self.stopped:
            return ""
        if not self.stop:
            return delta
        text = self._held + delta
        cut = _first_stop(text, self.stop)
        if cut is not None:
            self.stopped = True
            self._held = ""
            return text[:cut]
        keep = _partial_stop_suffix(text, self.stop, self._longest)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        """The stream ended: release what was held back."""
        held, self._held = self._held, ""
        return "" if self.stopped else held


def cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """``text`` cut before the first stop sequence, and whether one was found."""
    cut = _first_stop(text, [s for s in (stop or []) if s])
    return (text, False) if cut is None else (text[:cut], True)


def cut_stream(deltas: Iterable[str], stop: Sequence[str] | None) -> Iterator[str]:
    """Apply a :class:`StopSequenceCutter` to deltas; the source is closed at the stop.

    Should the source fail, the text held back is delivered before the error: it arrived.
    """
    cutter = StopSequenceCutter(stop)
    try:
        try:
            for delta in deltas:
                out = cutter.feed(delta)
                if out:
                    yield out
                if cutter.stopped:
                    return
        except Exception:
            if tail := cutter.flush():
                yield tail
            raise
        tail = cutter.flush()
        if tail:
            yield tail
    finally:
        close = getattr(deltas, "close", None)
        if close is not None:
            close()  # stop reading (and release the connection) once the reply is cut


async def acut_stream(
    deltas: AsyncIterator[str], stop: Sequence[str] | None
) -> AsyncGenerator[str, None]:
    """:func:`cut_stream` for async streams; the source is closed at the stop."""
    cutter = StopSequenceCutter(stop)
    try:
        try:
            async for delta in deltas:
                out = cutter.feed(delta)
                if out:
                    yield out
                if cutter.stopped:
                    return
        except Exception:
            if tail := cutter.flush():
                yield tail
            raise
        tail = cutter.flush()
        if tail:
            yield tail
    finally:
        aclose = getattr(deltas, "aclose", None)
        if aclose is not None:
            await aclose()


def _first_stop(text: str, stop: Sequence[str]) -> int | None:
    positions = [i for i in (text.find(s) for s in stop) if i >= 0]
    return min(positions) if positions else None


def _partial_stop_suffix(text: str, stop: Sequence[str], longest: int) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of a stop sequence."""
    for size in range(min(longest - 1, len(text)), 0, -1):
        tail = text[-size:]
        if any(s.startswith(tail) for s in stop):
            return size
    return 0
