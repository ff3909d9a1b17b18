"""Hostile text costs work linear in its size, never a hang.

A broken HTML error page (script tags never closed, tags never ended) is read in one pass:
its timeout is a generous bound on a hang (the quadratic reading took minutes), not a speed
target. A reply full of brackets that open no JSON is read without re-reading it from the
start at every bracket: counted, not timed.
"""

from __future__ import annotations

import json.decoder

import pytest

from assisterr_core.chat import json_values, parse_tool_reply
from assisterr_core.transport.errors import extract_error_detail


@pytest.mark.timeout(60)
def test_a_broken_html_error_page_is_read_in_one_pass() -> None:
    assert extract_error_detail("<html>" + "<script>" * 200_000) == "(empty body)"
    detail = extract_error_detail("<html><body><h1>Bad Gateway</h1>" + "<a" * 200_000)
    assert detail.startswith("Bad Gateway <a<a")


def test_a_reply_full_of_brackets_is_not_reread_at_every_bracket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A JSON error counts the lines before its position: reading it costs that position.
    # json looks its error class up when it raises, so a subclass can add the costs up.
    cost = [0]

    class CountedError(json.decoder.JSONDecodeError):
        def __init__(self, msg: str, doc: str, pos: int) -> None:
            cost[0] += pos
            super().__init__(msg, doc, pos)

    monkeypatch.setattr(json.decoder, "JSONDecodeError", CountedError)
    for repeats in (10_000, 40_000):
        prose = "[a {b " * repeats
        cost[0] = 0
        assert json_values(prose + '{"a": 1}') == [{"a": 1}]
        assert parse_tool_reply(prose, []).calls == []
        assert 0 < cost[0] <= 4 * len(prose)

