"""A compressed body is decoded in bounded pieces: a small gzip chunk that expands a
thousandfold never sits in memory whole."""

from __future__ import annotations

import gzip
import tracemalloc

from assisterr_core import AssisterrClient

from .raw_peer import Conn, RawPeer

EVENT = b'data: {"message": "' + b"z" * 1000 + b'"}\n\n'
EVENTS = 64 * 1024  # 64 MiB of events, in one HTTP chunk of under 200 KiB
BOMB = gzip.compress(EVENT * EVENTS, 9)  # made before memory is traced


def one_compressed_chunk(conn: Conn) -> None:
    if conn.read_request() is None:
        return
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
              b"Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
              + b"%x\r\n" % len(BOMB) + BOMB + b"\r\n0\r\n\r\n")


def test_a_compressed_stream_chunk_is_decoded_in_bounded_pieces() -> None:
    with RawPeer(one_compressed_chunk) as peer, AssisterrClient(
        base_url=peer.base_url, api_key="k" * 24, max_retries=0
    ) as client:
        tracemalloc.start()
        try:
            deltas = sum(1 for _ in client.stream("my-slm", "hi"))
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert deltas == EVENTS
    assert peak < 16 * 1024 * 1024  # the whole expansion is 64 MiB
