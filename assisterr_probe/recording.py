"""The probe's recording format: what was sent and what came back, byte for byte, as JSON.

Bodies are stored as text when they are UTF-8, else as base64; streams keep each chunk with
the time it arrived. The API key is redacted everywhere, in every form a server could echo it.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import itertools
import json
import os
import re
import secrets
import stat
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from assisterr_core.transport import bounded_json_loads

FORMAT = "assisterr-probe-recording"
FORMAT_VERSION = 1
REDACTED = "[redacted-api-key]"
MAX_EXCHANGE_SECONDS = 3600.0
"""The longest an exchange of the probe may last: its deadline is never later."""
MAX_RECORDED_MS = (MAX_EXCHANGE_SECONDS + 60.0) * 1000  # a minute's grace past the deadline
MAX_RECORDING_BYTES = 2**30  # far more than 13 bodies of 16 MiB, in base64, take
MAX_CHUNKS = 50_000
"""The most pieces the probe records of one body (a reply streams a few thousand at most):
each costs far more memory and file than its bytes, a byte per HTTP chunk a hundredfold."""


class RecordingError(ValueError):
    """A file that is not a recording this version can read."""


@dataclass(frozen=True)
class Chunk:
    """One piece of a streamed body, and when it arrived (ms after the request was sent)."""

    at_ms: float
    data: bytes


@dataclass(frozen=True)
class RecordedResponse:
    """A response as it arrived. ``chunks`` is None for bodies read whole (not streams).

    Bodies are stored after any ``Content-Encoding`` was undone: what a client decodes.
    """

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    headers_ms: float
    body: bytes = b""
    chunks: tuple[Chunk, ...] | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (case-insensitive), if present."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    @property
    def content_type(self) -> str:
        return self.header("Content-Type") or ""

    @property
    def pieces(self) -> tuple[Chunk, ...]:
        """The body as chunks: the recorded ones, or the whole body as one."""
        if self.chunks is not None:
            return self.chunks
        return (Chunk(self.headers_ms, self.body),) if self.body else ()


@dataclass(frozen=True)
class Exchange:
    """One request of the probe and what became of it.

    ``redirects`` are the 307/308 answers followed on the way to ``response``; ``response``
    is None when none came (``error`` says why) or the exchange was ``skipped``.
    """

    name: str
    method: str
    path: str
    request_headers: Mapping[str, str]
    request_body: bytes | None = None
    stream: bool = False
    redirects: tuple[RecordedResponse, ...] = ()
    response: RecordedResponse | None = None
    error: str | None = None
    skipped: str | None = None
    elapsed_ms: float = 0.0

    def request_json(self) -> Any:
        """The JSON body that was sent, or None."""
        if not self.request_body:
            return None
        try:
            return bounded_json_loads(self.request_body)
        except ValueError:
            return None


@dataclass(frozen=True)
class Recording:
    """Everything one probe run saw, in the order it happened."""

    base_url: str
    handle: str
    recorded_at: str
    client: str
    exchanges: tuple[Exchange, ...] = field(default_factory=tuple)

    def exchange(self, name: str) -> Exchange | None:
        return next((e for e in self.exchanges if e.name == name), None)

    def dump(self, path: str | Path) -> None:
        """Write the recording to ``path``, whole or not at all: a write that fails (a full
        disk, Ctrl-C) leaves what was there before."""
        text = json.dumps(to_json(self), indent=1, ensure_ascii=False) + "\n"
        write_whole(Path(path), text.encode("utf-8"))


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file next to ``path``'s target (through symlinks), then
    move it over the target. A target that is no regular file (``/dev/null``, a pipe), or a
    directory that takes no new file, is written in place."""
    target = Path(os.path.realpath(path))
    try:
        mode: int | None = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and not stat.S_ISREG(mode):  # /dev/null, a pipe: no file to replace
        target.write_bytes(data)
        return
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except PermissionError:  # the directory takes no new file
        target.write_bytes(data)
        return
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        if mode is not None:
            os.chmod(temporary, stat.S_IMODE(mode))
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def load(path: str | Path) -> Recording:
    """Read a recording file; a clear :class:`RecordingError` for anything else."""
    try:
        found = os.stat(path)
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(found.st_mode):  # a pipe or a device could be read for ever
        raise RecordingError(f"{path} is not a file")
    if found.st_size > MAX_RECORDING_BYTES:
        raise RecordingError(f"{path} is larger than any recording "
                             f"({MAX_RECORDING_BYTES // 2**20} MiB)")
    try:
        data = bounded_json_loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise RecordingError(f"{path} is not JSON: {exc}") from None
    return from_json(data, str(path))


def to_json(recording: Recording) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "recorded_at": recording.recorded_at,
        "base_url": recording.base_url,
        "handle": recording.handle,
        "client": recording.client,
        "exchanges": [_exchange_json(e) for e in recording.exchanges],
    }


def from_json(data: Any, source: str = "the recording") -> Recording:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise RecordingError(f"{source} is not an assisterr-probe recording")
    version = data.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or not (
            1 <= version <= FORMAT_VERSION):
        raise RecordingError(
            f"{source} has format version {version!r}; this version reads up to {FORMAT_VERSION}"
        )
    where = "the recording"
    try:
        exchanges = _field(data, "exchanges", list, where)
        return Recording(
            base_url=_field(data, "base_url", str, where),
            handle=_field(data, "handle", str, where),
            recorded_at=_field(data, "recorded_at", str, where),
            client=_field(data, "client", str, where, ""),
            exchanges=tuple(_exchange_from(e, f"exchange {index}")
                            for index, e in enumerate(exchanges, 1)),
        )
    except ValueError as exc:  # what is damaged and where; or base64 that is not
        raise RecordingError(f"{source} is damaged: {exc}") from None


class _Damaged(ValueError):
    """Where a recording holds something the probe never writes, and what."""


_REQUIRED: Any = object()


def _field(data: Any, key: str, kind: type | tuple[type, ...], where: str,
           default: Any = _REQUIRED) -> Any:
    """``data[key]``, checked to be of ``kind`` (a bool is no number here)."""
    if not isinstance(data, dict):
        raise _Damaged(f"{where} is {_kind_of(data)}, not an object")
    if key not in data:
        if default is _REQUIRED:
            raise _Damaged(f"{where} has no {key!r}")
        return default
    value = data[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        wanted = "a number" if {int, float} <= set(kinds) else " or ".join(map(_kind_name, kinds))
        raise _Damaged(f"{where}: {key!r} is {_kind_of(value)}, not {wanted}")
    return value


def _time_field(data: Any, key: str, where: str, default: Any = _REQUIRED) -> float:
    """A time in ms after the request was sent: what the probe can have measured."""
    value = float(_field(data, key, (int, float), where, default))
    if not 0 <= value <= MAX_RECORDED_MS:  # NaN too
        raise _Damaged(f"{where}: {key!r} is {value!r} ms, not a time within an exchange "
                       f"(0 to {MAX_RECORDED_MS:g})")
    return value


def _kind_of(value: Any) -> str:
    return "null" if value is None else _kind_name(type(value))


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a float", bool: "true or false",
            list: "a list", dict: "an object", type(None): "null"}.get(kind, kind.__name__)


def _blob_json(data: bytes) -> dict[str, str]:
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def _blob_from(blob: Any, where: str) -> bytes:
    if isinstance(blob, dict) and "text" in blob:
        text: str = _field(blob, "text", str, where)
        return text.encode("utf-8")
    encoded: str = _field(blob, "base64", str, where)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError as exc:
        raise _Damaged(f"{where}: 'base64' is not base64 ({exc})") from None


def _response_json(response: RecordedResponse) -> dict[str, Any]:
    data: dict[str, Any] = {
        "status": response.status,
        "reason": response.reason,
        "headers": [f"{name}: {value}" for name, value in response.headers],
        "headers_ms": round(response.headers_ms, 3),
    }
    if response.chunks is None:
        data["body"] = _blob_json(response.body)
    else:
        data["chunks"] = [{"at_ms": round(c.at_ms, 3), **_blob_json(c.data)}
                          for c in response.chunks]
    return data


def _response_from(data: Any, where: str) -> RecordedResponse:
    status = _field(data, "status", int, where)
    if not 100 <= status <= 599:
        raise _Damaged(f"{where}: status {status} is not an HTTP status")
    chunks = None
    if "chunks" in data:
        listed = _field(data, "chunks", list, where)
        if len(listed) > MAX_CHUNKS:
            raise _Damaged(f"{where}: more than {MAX_CHUNKS} chunks, more than the probe "
                           "records")
        chunks = tuple(
            Chunk(_time_field(c, "at_ms", f"{where}, chunk {index}"),
                  _blob_from(c, f"{where}, chunk {index}"))
            for index, c in enumerate(listed, 1))
        body = b"".join(c.data for c in chunks)
    else:
        body = _blob_from(_field(data, "body", dict, where), f"{where}, body")
    lines = _field(data, "headers", list, where)
    if not all(isinstance(line, str) for line in lines):
        raise _Damaged(f"{where}: a header is not a string")
    return RecordedResponse(
        status=status,
        reason=_field(data, "reason", str, where, ""),
        headers=tuple(_header_pair(line) for line in lines),
        headers_ms=_time_field(data, "headers_ms", where, 0.0),
        body=body,
        chunks=chunks,
    )


def _header_pair(line: str) -> tuple[str, str]:
    name, _, value = str(line).partition(":")
    return name, value.strip()


def _exchange_json(exchange: Exchange) -> dict[str, Any]:
    return {
        "name": exchange.name,
        "method": exchange.method,
        "path": exchange.path,
        "request_headers": dict(exchange.request_headers),
        "request_body": None if exchange.request_body is None
        else _blob_json(exchange.request_body),
        "stream": exchange.stream,
        "redirects": [_response_json(r) for r in exchange.redirects],
        "response": None if exchange.response is None else _response_json(exchange.response),
        "error": exchange.error,
        "skipped": exchange.skipped,
        "elapsed_ms": round(exchange.elapsed_ms, 3),
    }


def _exchange_from(data: Any, where: str) -> Exchange:
    name = _field(data, "name", str, where)
    where = f"{where} ({name})"
    body = _field(data, "request_body", (dict, type(None)), where, None)
    response = _field(data, "response", (dict, type(None)), where, None)
    headers = _field(data, "request_headers", dict, where, {})
    if not all(isinstance(value, str) for value in headers.values()):
        raise _Damaged(f"{where}: a request header is not a string")
    return Exchange(
        name=name,
        method=_field(data, "method", str, where),
        path=_field(data, "path", str, where),
        request_headers=dict(headers),
        request_body=None if body is None else _blob_from(body, f"{where}, request body"),
        stream=_field(data, "stream", bool, where, False),
        redirects=tuple(_response_from(r, f"{where}, redirect {index}") for index, r in
                        enumerate(_field(data, "redirects", list, where, []), 1)),
        response=None if response is None else _response_from(response, f"{where}, response"),
        error=_field(data, "error", (str, type(None)), where, None),
        skipped=_field(data, "skipped", (str, type(None)), where, None),
        elapsed_ms=_time_field(data, "elapsed_ms", where, 0.0),
    )


class Redactor:
    """Replaces an API key with :data:`REDACTED`, however a server wrote it back.

    Each character of the key may appear as itself, JSON-escaped (``\\"``, ``\\/``,
    ``\\u00XX``), percent-encoded or as an HTML entity, in any mix, any hex case and
    escaped more than once. So may the key in base64 (either alphabet), inside a longer
    encoded value too (``user:key`` in Basic auth): the characters that only the key's bytes
    decide are redacted, at each of the three alignments.
    """

    def __init__(self, key: str) -> None:
        forms = [key, *_base64_cores(key.encode())] if key else []
        self._pattern = re.compile(b"|".join(
            b"".join(_char_forms(c) for c in form) for form in forms)) if forms else None

    def bytes(self, data: bytes) -> bytes:
        if self._pattern is None:
            return data
        return self._pattern.sub(REDACTED.encode(), data)

    def text(self, text: str) -> str:
        return self.bytes(text.encode("utf-8", "surrogateescape")).decode(
            "utf-8", "surrogateescape")

    def headers(self, headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((self.text(k), self.text(v)) for k, v in headers)

    def chunks(self, chunks: Sequence[Chunk]) -> tuple[Chunk, ...]:
        """Redact a stream; a key split across chunks merges those chunks first."""
        if self._pattern is None or not chunks:
            return tuple(chunks)
        ends = list(itertools.accumulate(len(c.data) for c in chunks))
        reach = list(range(len(chunks)))  # chunk i must be merged up to chunk reach[i]
        for match in self._pattern.finditer(b"".join(c.data for c in chunks)):
            first = bisect.bisect_right(ends, match.start())
            reach[first] = max(reach[first], bisect.bisect_left(ends, match.end()))
        merged: list[Chunk] = []
        start = 0
        while start < len(chunks):
            last = index = start
            while index <= last:  # matches may chain chunks together
                last = max(last, reach[index])
                index += 1
            group = chunks[start:last + 1]
            merged.append(group[0] if len(group) == 1 else
                          Chunk(group[-1].at_ms, b"".join(c.data for c in group)))
            start = last + 1
        return tuple(replace(c, data=self.bytes(c.data)) for c in merged)

    def response(self, response: RecordedResponse) -> RecordedResponse:
        chunks = None if response.chunks is None else self.chunks(response.chunks)
        body = b"".join(c.data for c in chunks) if chunks is not None else self.bytes(
            response.body)
        return replace(response, reason=self.text(response.reason),
                       headers=self.headers(response.headers), body=body, chunks=chunks)

    def exchange(self, exchange: Exchange) -> Exchange:
        return replace(
            exchange,
            path=self.text(exchange.path),
            request_headers=dict(self.headers(exchange.request_headers.items())),
            request_body=None if exchange.request_body is None
            else self.bytes(exchange.request_body),
            redirects=tuple(self.response(r) for r in exchange.redirects),
            response=None if exchange.response is None else self.response(exchange.response),
            error=None if exchange.error is None else self.text(exchange.error),
            skipped=None if exchange.skipped is None else self.text(exchange.skipped),
        )


def _base64_cores(key: bytes) -> list[str]:
    """The base64 text that ``key`` becomes wherever it starts in an encoded value, minus
    the characters at its edges that neighbouring bytes share (too short: left out)."""
    cores = []
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + key).decode("ascii")
        core = encoded[-(-8 * shift // 6): 8 * (shift + len(key)) // 6]
        if len(core) >= _MIN_BASE64_CORE:
            cores += [core, core.translate(_URL_SAFE)]
    return list(dict.fromkeys(cores))


_MIN_BASE64_CORE = 8  # shorter runs would match unrelated text; keys are much longer
_URL_SAFE = str.maketrans("+/", "-_")


def _char_forms(char: str) -> bytes:
    """A regex for one character of the key, in each form a server could write it.

    Escapes may be nested (a JSON string inside a JSON string, ``%25`` for ``%``, ``&amp;``
    for ``&``), so their lead-ins may repeat.
    """
    code = ord(char)
    backslashes, percent, amp = r"\\+", "%(?:25)*", "&(?:amp;)*"
    forms = [
        backslashes if char == "\\" else re.escape(char),
        backslashes + "u" + _hex(code, 4),  # JSON \u00XX
        percent + _hex(code, 2),  # percent-encoding
        rf"{amp}#0*{code};",  # HTML decimal entity
        rf"{amp}#[xX]0*" + _hex(code, 1) + ";",  # HTML hex entity
    ]
    if char in "\"/":
        forms.append(backslashes + re.escape(char))  # JSON short escapes
    named = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}.get(char)
    if named:
        forms.append(f"{amp}{named};")
    return ("(?:" + "|".join(forms) + ")").encode("ascii")


def _hex(code: int, width: int) -> str:
    """``code`` in hex with at least ``width`` digits, letters in either case."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{code:0{width}x}")
