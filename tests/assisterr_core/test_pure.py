"""Pure parts of the core: retry policy, prompt rendering, stop sequences, validation, models."""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timezone
from email.utils import format_datetime
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assisterr_core import (
    ChatTurn,
    InvalidRequestError,
    Llama3Template,
    Secret,
    UnsupportedContentError,
    render_query,
)
from assisterr_core.chat import sampling_arguments
from assisterr_core.chat.prompt import latest_user_text
from assisterr_core.chat.stop import StopSequenceCutter, cut_at_stop, stop_sequences
from assisterr_core.transport.errors import (
    AuthenticationError,
    BadRequestError,
    NotFoundError,
    RateLimitError,
    ServerError,
    extract_error_detail,
    status_error,
)
from assisterr_core.transport.records import (
    EARLIEST,
    LATEST,
    HistoryMessage,
    order_oldest_first,
    parse_chat_reply,
    parse_history,
    parse_timestamp,
)
from assisterr_core.transport.retry import Replay, RetryPolicy, parse_retry_after
from assisterr_core.transport.settings import ClientSettings, InsecureTransportWarning, Timeout
from assisterr_core.transport.validation import check_identifier, check_query, path_segment


class TestRetryPolicy:
    def test_retryable_statuses_only(self) -> None:
        policy = RetryPolicy(max_retries=2)
        for replay in Replay:
            for status in (429, 503):
                assert policy.delay_after_status(0, status, None, replay=replay) is not None
            for status in (400, 401, 403, 404, 422, 500, 501):
                assert policy.delay_after_status(0, status, None, replay=replay) is None
        # A gateway's 502/504 may follow the upstream's receipt: never resend what records.
        for status in (502, 504):
            assert policy.delay_after_status(0, status, None, replay=Replay.RECORDS) is None
            assert policy.delay_after_status(0, status, None, replay=Replay.STATELESS)
            assert policy.delay_after_status(0, status, None, replay=Replay.IDEMPOTENT)

    def test_gives_up_after_max_retries(self) -> None:
        policy = RetryPolicy(max_retries=2)
        records = Replay.RECORDS
        assert policy.delay_after_status(1, 503, None, replay=records) is not None
        assert policy.delay_after_status(2, 503, None, replay=records) is None
        assert RetryPolicy(max_retries=0).delay_after_status(0, 503, None, replay=records) is None

    def test_backoff_grows_with_jitter_and_cap(self) -> None:
        policy = RetryPolicy(max_retries=10, initial_delay=0.5, max_delay=4.0)
        for retries, upper in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
            delay = policy.backoff(retries, None)
            assert upper * 0.75 <= delay <= upper

    def test_retry_after_honoured_and_capped(self) -> None:
        policy = RetryPolicy(max_retry_after=10)
        assert policy.backoff(0, 3.0) == 3.0
        assert policy.backoff(0, 3600.0) == 10.0

    def test_connection_failures(self) -> None:
        policy = RetryPolicy(max_retries=2)
        for replay in Replay:
            assert policy.delay_after_failure(0, request_sent=False, replay=replay) is not None
        # A chat that may have reached the server is never resent: it could duplicate a turn
        # (or, stateless, make a model that is still answering start over).
        assert policy.delay_after_failure(0, request_sent=True, replay=Replay.RECORDS) is None
        assert policy.delay_after_failure(0, request_sent=True, replay=Replay.STATELESS) is None
        assert policy.delay_after_failure(0, request_sent=True, replay=Replay.IDEMPOTENT)

    def test_parse_retry_after(self) -> None:
        assert parse_retry_after({"Retry-After": "7"}) == 7.0
        assert parse_retry_after({"retry-after": "1.5"}) == 1.5
        assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
        assert parse_retry_after({}) is None
        assert parse_retry_after({"Retry-After": "soon"}) is None
        now = 1_700_000_000.0
        date = format_datetime(datetime.fromtimestamp(now + 30, tz=timezone.utc), usegmt=True)
        assert parse_retry_after({"Retry-After": date}, now=now) == pytest.approx(30, abs=1)
        past = format_datetime(datetime.fromtimestamp(now - 30, tz=timezone.utc), usegmt=True)
        assert parse_retry_after({"Retry-After": past}, now=now) == 0.0


class TestPrompt:
    def test_single_user_message_is_sent_as_is(self) -> None:
        assert render_query([("user", "  Hi *there*  ")]) == "  Hi *there*  "

    def test_transcript(self) -> None:
        query = render_query(
            [
                ("system", "Be brief."),
                ("human", "I am Bob."),
                ("ai", "Hello Bob."),
                ChatTurn("tool", "42", name="calculator"),
                ("user", "What is my name?"),
            ]
        )
        assert query == (
            "Be brief.\n\n"
            "Conversation so far:\nUser: I am Bob.\nAssistant: Hello Bob.\n"
            "Tool result (calculator): 42\n\n"
            "User: What is my name?"
        )

    def test_system_and_one_user_message(self) -> None:
        assert render_query([("system", "Be brief."), ("user", "Hi")]) == "Be brief.\n\nHi"

    def test_llama3_template_writes_assisterrs_own_example_format(self) -> None:
        """The format of Assisterr's example prompt (its slm.py): a header, one newline, the
        text, ``<|eot_id|>`` and a newline; an open assistant header last; no BOS token."""
        turns = [("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"),
                 ("user", "Who are you?")]
        assert render_query(turns, template=Llama3Template()) == (
            "<|start_header_id|>system<|end_header_id|>\nBe brief.<|eot_id|>\n"
            "<|start_header_id|>user<|end_header_id|>\nHi<|eot_id|>\n"
            "<|start_header_id|>assistant<|end_header_id|>\nHello!<|eot_id|>\n"
            "<|start_header_id|>user<|end_header_id|>\nWho are you?<|eot_id|>\n"
            "<|start_header_id|>assistant<|end_header_id|>\n"
        )

    def test_custom_template(self) -> None:
        query = render_query([("user", "a"), ("user", "b")], template=lambda t: "|".join(
            turn.text for turn in t))
        assert query == "a|b"

    def test_bad_input(self) -> None:
        with pytest.raises(InvalidRequestError, match="at least one"):
            render_query([])
        with pytest.raises(InvalidRequestError, match="unknown role"):
            render_query([("wizard", "x")])
        with pytest.raises(InvalidRequestError, match="empty"):
            render_query([("user", "   ")])

    def test_latest_user_text(self) -> None:
        assert latest_user_text([("user", "a"), ("assistant", "b"), ("user", "c")]) == "c"
        with pytest.raises(InvalidRequestError, match="last message"):
            latest_user_text([("user", "a"), ("assistant", "b")])

    def test_unsupported_content_error_names_the_message(self) -> None:
        error = UnsupportedContentError("messages[2]", "image content is not supported")
        assert (error.field, str(error)) == (
            "messages[2]", "messages[2]: image content is not supported")
        with pytest.raises(ValueError, match=r"^messages\[2\]: image"):  # callers catch it so
            raise error


class TestStop:
    @given(text=st.text(max_size=40), stop=st.text(min_size=1, max_size=4), data=st.data())
    def test_streamed_cut_equals_whole_cut(self, text: str, stop: str, data: st.DataObject) -> None:
        cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
        pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
        cutter = StopSequenceCutter([stop])
        out = "".join(cutter.feed(piece) for piece in pieces) + cutter.flush()
        assert (out, cutter.stopped) == cut_at_stop(text, [stop])

    def test_earliest_of_several(self) -> None:
        assert cut_at_stop("a END b STOP", ["STOP", "END"]) == ("a ", True)
        assert cut_at_stop("abc", None) == ("abc", False)

    def test_a_string_is_one_stop_sequence_and_other_types_are_refused(self) -> None:
        assert stop_sequences("Observation:") == ["Observation:"]  # not its characters
        assert stop_sequences(("a", "", "b")) == ["a", "b"]
        assert stop_sequences(None) == stop_sequences("") == []
        for bad, named in ((5, "got int"), ([None], "got a list holding NoneType"),
                           ({"a"}, "got set")):
            with pytest.raises(InvalidRequestError, match=f"^stop: must be a string or a "
                               f"list of strings, {named}"):
                stop_sequences(bad)


# Identifiers that must never reach a URL, each for its own reason (path separators, dot
# segments, encoded forms, whitespace and controls, and what NFKC turns into one of those).
REFUSED_IDS = {
    "empty": "", "slash": "a/b", "backslash": "a\\b", "leading-slash": "/admin", "dot-dot": "..",
    "dot": ".", "traversal": "../../admin", "dot-dot-inside": "a..b", "percent-2F": "a%2Fb",
    "percent-2E": "%2E%2E", "space": "a b", "only-space": " ", "newline": "a\nb",
    "crlf-header-injection": "a\r\nX-Api-Key: stolen", "tab": "a\tb", "nul": "a\x00b",
    "query": "a?b=1", "fragment": "a#b", "fullwidth-solidus": "a\uff0fb",
    "fullwidth-reverse-solidus": "a\uff3cb", "two-one-dot-leaders": "\u2024\u2024",
    "two-dot-leader": "\u2025", "fullwidth-full-stops": "\uff0e\uff0e",
    "no-break-space": "a\u00a0b", "ideographic-space": "a\u3000b",
    "zero-width-space": "a\u200bb", "line-separator": "a\u2028b", "rtl-override": "a\u202eb",
    "lone-surrogate": "a\ud800b", "not-a-string": 1.5,
}
# Odd but harmless: they must travel as exactly one path segment.
ACCEPTED_IDS = ("a\u2215b", "a\u2044b", "a\u2024b", "a.b", "slm-é", "t\u0435st-slm",
                "a:b@c;d", "a+b=c", "1234567891234", "65f1c0ffee0123456789abcd", 42)
PATH_BREAKERS = ("/", "\\", "..", "%", "?", "#", " ", "\t", "\n", "\r", "\x00", "\u2028",
                 "\u200b", "\uff0f", "\uff0e\uff0e")


class TestValidation:
    def test_identifiers_that_could_change_the_path_are_refused(self) -> None:
        passed = []
        for name, value in REFUSED_IDS.items():
            try:
                check_identifier(value, "session_id")
            except InvalidRequestError as error:
                assert error.field == "session_id" and str(error).startswith("session_id: ")
            else:
                passed.append(name)
        assert passed == []

    @given(before=st.text(max_size=8), breaker=st.sampled_from(PATH_BREAKERS),
           after=st.text(max_size=8))
    def test_any_identifier_holding_a_path_breaker_is_refused(
        self, before: str, breaker: str, after: str
    ) -> None:
        with pytest.raises(InvalidRequestError, match=r"^handle: "):
            check_identifier(before + breaker + after, "handle")

    def test_odd_identifiers_are_kept_as_they_are(self) -> None:
        for value in ACCEPTED_IDS:
            assert check_identifier(value, "handle") == str(value)

    @given(value=st.text(min_size=1, max_size=20))
    def test_an_accepted_identifier_is_exactly_one_path_segment(self, value: str) -> None:
        try:
            check_identifier(value, "handle")
        except InvalidRequestError:
            return
        segment = path_segment(value)
        assert "/" not in segment and "\\" not in segment and segment not in (".", "..")
        assert unquote(segment, errors="strict") == value

    @pytest.mark.parametrize("value", [None, 3, b"x", "", "  \n\t"])
    def test_bad_queries(self, value: object) -> None:
        with pytest.raises(InvalidRequestError, match="query"):
            check_query(value)

    def test_lone_surrogate_is_refused(self) -> None:
        with pytest.raises(InvalidRequestError, match="UTF-8"):
            check_query("bad \ud800 text")


class TestErrorsAndModels:
    @pytest.mark.parametrize(
        ("status", "cls"),
        [(400, BadRequestError), (401, AuthenticationError), (403, AuthenticationError),
         (404, NotFoundError), (422, BadRequestError), (429, RateLimitError), (500, ServerError),
         (503, ServerError)],
    )
    def test_status_table(self, status: int, cls: type) -> None:
        assert type(status_error(status, "")) is cls

    def test_error_detail_shapes(self) -> None:
        assert extract_error_detail('{"detail": "Not found"}') == "Not found"
        assert extract_error_detail('{"error": {"code": 1}}') == '{"code": 1}'
        assert extract_error_detail('{"message": "m"}') == "m"
        html = "<html><head><title>x</title></head><body><h1>Bad Gateway</h1></body></html>"
        assert extract_error_detail(html) == "Bad Gateway"
        assert extract_error_detail("") == "(empty body)"
        assert len(extract_error_detail("x" * 10_000)) == 500

    def test_timestamps_are_utc(self) -> None:
        parsed = parse_timestamp("2024-12-11T19:01:16.972013")
        assert parsed == datetime(2024, 12, 11, 19, 1, 16, 972013, tzinfo=timezone.utc)
        assert parse_timestamp("2024-12-11T20:01:16+01:00") == datetime(
            2024, 12, 11, 19, 1, 16, tzinfo=timezone.utc)

    def test_timestamps_out_of_utc_range_keep_their_place(self) -> None:
        # A "zero time" written east of UTC, and the last second written west of it.
        assert parse_timestamp("0001-01-01T00:00:00+01:00") == EARLIEST
        assert parse_timestamp("9999-12-31T23:59:59-01:00") == LATEST
        assert parse_timestamp("0001-01-01T01:00:00+01:00") == EARLIEST  # exactly the minimum

    def test_unreadable_timestamps_are_none_and_kept_raw(self) -> None:
        for odd in ("yesterday", "2024-13-45T00:00:00", 1733943676, ["2024"], " "):
            assert parse_timestamp(odd) is None
            reply = parse_chat_reply({"message": "kept", "message_at": odd})
            assert (reply.text, reply.message_at, reply.raw["message_at"]) == ("kept", None, odd)

    def test_odd_timestamps_never_fail_a_record(self) -> None:
        zero, last = "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"
        reply = parse_chat_reply({"message": "hi", "message_at": zero})
        assert (reply.text, reply.message_at, reply.raw["message_at"]) == ("hi", EARLIEST, zero)
        history = parse_history([
            {"_id": "2", "query": "a", "is_user": False, "created_at": last},
            {"_id": "1", "query": "q", "is_user": True, "created_at": zero},
        ])
        assert [(m.id, m.created_at) for m in history] == [("1", EARLIEST), ("2", LATEST)]
        assert history[1].raw["created_at"] == last

    def test_history_order_with_tied_timestamps(self) -> None:
        stamp = datetime(2024, 1, 1, tzinfo=timezone.utc)
        newest_first = [
            HistoryMessage("4", "a2", False, stamp), HistoryMessage("3", "q2", True, stamp),
            HistoryMessage("2", "a1", False, stamp), HistoryMessage("1", "q1", True, stamp),
        ]
        assert [m.id for m in order_oldest_first(newest_first)] == ["1", "2", "3", "4"]
        assert [m.id for m in order_oldest_first(newest_first[::-1])] == ["1", "2", "3", "4"]


class TestSettings:
    def test_secret_never_shows(self) -> None:
        settings = ClientSettings.resolve(api_key="sk-very-secret", base_url="https://x.test")
        for text in (repr(settings), str(settings), repr(settings.api_key), f"{settings.api_key}"):
            assert "sk-very-secret" not in text
        assert settings.api_key.get_secret_value() == "sk-very-secret"
        assert Secret("a") == Secret("a")

    def test_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ASSISTERR_API_KEY", "env-key")
        monkeypatch.setenv("ASSISTERR_BASE_URL", "https://example.test/")
        settings = ClientSettings.resolve()
        assert settings.api_key.get_secret_value() == "env-key"
        assert settings.base_url == "https://example.test"
        assert settings.max_retries == 2

    def test_plain_http_to_a_remote_host_warns(self) -> None:
        with pytest.warns(InsecureTransportWarning) as caught:
            ClientSettings.resolve(api_key="k", base_url="http://api.example.test")
        assert caught[0].filename == __file__  # the caller's line
        ClientSettings.resolve(api_key="k", base_url="http://127.0.0.1:9")  # no warning
        ClientSettings.resolve(api_key="k", base_url="http://localhost:9")

    def test_api_key_is_checked_without_being_shown(self) -> None:
        settings = ClientSettings.resolve(api_key="  sk-from-a-file\n", base_url="https://x.test")
        assert settings.api_key.get_secret_value() == "sk-from-a-file"
        for bad in ("sk-in ner", "sk-\x00nul", "sk-\u00e9"):
            with pytest.raises(InvalidRequestError, match="api_key") as caught:
                ClientSettings.resolve(api_key=bad, base_url="https://x.test")
            assert bad.strip() not in str(caught.value)

    def test_the_api_prefix_or_a_leading_part_of_it_is_dropped_from_a_base_url(self) -> None:
        dropped = {
            "https://h.test/api": ("https://h.test", "/api"),
            "https://h.test/api/v1/": ("https://h.test", "/api/v1"),
            "https://h.test/gateway/api/v1/slm": ("https://h.test/gateway", "/api/v1/slm"),
        }
        for url, (root, part) in dropped.items():
            with pytest.warns(UserWarning, match=f"ends with '{part}'.*using '{root}'") as caught:
                assert ClientSettings.resolve(api_key="k", base_url=url).base_url == root
            assert caught[0].filename == __file__  # the caller's line
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for kept in ("https://h.test/myapi", "https://h.test/api/v2", "https://h.test/slm"):
                assert ClientSettings.resolve(api_key="k", base_url=kept).base_url == kept

    @pytest.mark.parametrize("url", ["ftp://x", "not a url", "https://user:pw@x.test"])
    def test_bad_base_urls(self, url: str) -> None:
        with pytest.raises(InvalidRequestError, match="base_url"):
            ClientSettings.resolve(api_key="k", base_url=url)

    @pytest.mark.parametrize(("url", "meant"), [
        ("127.0.0.1:8765", "http://127.0.0.1:8765"), ("localhost:8765", "http://localhost:8765"),
        ("api.assisterr.ai", "https://api.assisterr.ai"),
    ])
    def test_a_base_url_without_its_scheme_is_refused_with_the_url_to_write(
        self, url: str, meant: str
    ) -> None:
        with pytest.raises(InvalidRequestError, match=re.escape(f"did you mean '{meant}'?")):
            ClientSettings.resolve(api_key="k", base_url=url)

    def test_a_base_url_from_the_environment_is_named_as_such(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The fix is in the variable, not in the code: the error and the warning say so."""
        monkeypatch.setenv("ASSISTERR_BASE_URL", "127.0.0.1:8765")
        with pytest.raises(InvalidRequestError, match="from ASSISTERR_BASE_URL"):
            ClientSettings.resolve(api_key="k")
        monkeypatch.setenv("ASSISTERR_BASE_URL", "http://127.0.0.1:8765/api/v1")
        with pytest.warns(UserWarning, match="from ASSISTERR_BASE_URL"):
            ClientSettings.resolve(api_key="k")
        with pytest.raises(InvalidRequestError) as caught:  # an argument: no variable named
            ClientSettings.resolve(api_key="k", base_url="127.0.0.1:8765")
        assert "ASSISTERR_BASE_URL" not in str(caught.value)

    def test_a_base_url_that_may_hold_credentials_is_not_repeated(self) -> None:
        with pytest.raises(InvalidRequestError) as caught:
            ClientSettings.resolve(api_key="k", base_url="user:hunter2@h.test")
        assert "hunter2" not in str(caught.value)

    def test_timeouts(self) -> None:
        assert Timeout.coerce(3) == Timeout(connect=3, read=3)
        assert Timeout.coerce((1, 20)) == Timeout(connect=1, read=20)
        for bad in (-1, 0, (0, 5), (5, -1), (1,), "3", True):
            with pytest.raises(InvalidRequestError, match="timeout"):
                Timeout.coerce(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError):
            ClientSettings.resolve(api_key="k", max_retries=-1)


class TestStopStreams:
    def test_sync_source_is_closed_at_the_stop(self) -> None:
        closed: list[bool] = []

        def source():  # type: ignore[no-untyped-def]
            try:
                yield from ["Hello wo", "rld. ST", "OP here", "never read"]
            finally:
                closed.append(True)

        from assisterr_core.chat.stop import cut_stream

        assert list(cut_stream(source(), ["STOP"])) == ["Hello wo", "rld. "]
        assert closed == [True]

    async def test_async_source_is_closed_at_the_stop(self) -> None:
        from assisterr_core.chat.stop import acut_stream

        closed: list[bool] = []

        async def source():  # type: ignore[no-untyped-def]
            try:
                for delta in ["a S", "T", "OP b", "c"]:
                    yield delta
            finally:
                closed.append(True)

        assert [d async for d in acut_stream(source(), ["STOP"])] == ["a "]
        assert closed == [True]
        assert [d async for d in acut_stream(source(), None)] == ["a S", "T", "OP b", "c"]


class TestSessionQuery:
    def test_lone_new_message_is_sent_as_is(self) -> None:
        from assisterr_core import session_query

        turns = [("user", "first"), ("assistant", "reply"), ("user", "  second  ")]
        assert session_query(turns) == "  second  "

    def test_system_text_travels_with_the_new_message(self) -> None:
        from assisterr_core import session_query

        turns = [("system", "Be brief."), ("user", "first"), ("assistant", "r"), ("user", "new")]
        assert session_query(turns) == "Be brief.\n\nnew"

    def test_instructions_and_turns_since_the_last_reply(self) -> None:
        from assisterr_core import session_query

        turns = [("user", "q"), ("assistant", "call"), ChatTurn("tool", "42", name="add")]
        query = session_query(turns, instructions="TOOLS")
        assert query == "TOOLS\n\nConversation so far:\nTool result (add): 42"
        with pytest.raises(InvalidRequestError, match="last message"):
            session_query(turns)


def test_sampling_arguments_are_the_set_sampling_controls_in_their_order() -> None:
    given = {"top_p": 0.5, "session_id": "s", "temperature": None, "seed": 0, "stop": ["x"]}
    assert sampling_arguments(given) == ["top_p", "seed"]
    assert sampling_arguments({}) == []
