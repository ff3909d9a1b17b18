"""The emulator's request log: one line per request (method, path, status, milliseconds),
written through aiohttp's access-log hook to the ``assisterr_emulator.requests`` logger.

Headers are never logged (the API key travels in one), nor the query string or the body.
"""

from __future__ import annotations

import logging

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse

REQUEST_LOGGER = logging.getLogger("assisterr_emulator.requests")


class RequestLine(AbstractAccessLogger):
    """``POST /api/v1/slm/my-slm/chat/ 200 3.1 ms``, at INFO level."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info("%s %s %d %.1f ms", request.method, request.path, response.status,
                         time * 1000)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)
