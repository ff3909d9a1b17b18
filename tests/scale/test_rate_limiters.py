"""A rate limiter counts the calls of one process, so it cannot honestly travel: a model
holding one refuses to be pickled, saying how to give each worker its share of the budget;
copies made in the same process share it (one budget)."""

from __future__ import annotations

import copy
import logging
import pickle
from typing import Any

import pytest
from langchain_core.rate_limiters import InMemoryRateLimiter
from llama_index.core.rate_limiter import TokenBucketRateLimiter

from assisterr_core import UnpicklableError
from assisterr_emulator import EmulatorServer
from langchain_assisterr import ChatAssisterr
from llama_index_assisterr import Assisterr

HANDLE = "scale-slm"


@pytest.fixture(params=["langchain", "llamaindex"])
def limited(request: pytest.FixtureRequest, server: EmulatorServer) -> tuple[Any, Any]:
    """A ChatAssisterr or an Assisterr with its framework's rate limiter, and the limiter."""
    options: dict[str, Any] = {"api_key": server.api_key, "base_url": server.base_url}
    if request.param == "langchain":
        limiter: Any = InMemoryRateLimiter(requests_per_second=100, check_every_n_seconds=0.01)
        factory: Any = ChatAssisterr
        return factory(model=HANDLE, rate_limiter=limiter, **options), limiter
    limiter = TokenBucketRateLimiter(requests_per_minute=6000)
    return Assisterr(model=HANDLE, rate_limiter=limiter, **options), limiter


def ask(model: Any, query: str) -> str:
    if isinstance(model, Assisterr):
        return model.complete(query).text
    return str(model.invoke(query).content)


def test_a_model_holding_a_rate_limiter_refuses_to_be_pickled_naming_the_fix(
    limited: tuple[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    model, _ = limited
    caplog.set_level(logging.WARNING)
    with pytest.raises(UnpicklableError) as caught:
        pickle.dumps(model)
    assert isinstance(caught.value, pickle.PicklingError)  # what pickling callers catch
    assert "model.model_copy(update={'rate_limiter': None})" in str(caught.value)
    assert '"Batch jobs and scale-out"' in str(caught.value)
    travelling = pickle.loads(pickle.dumps(model.model_copy(update={"rate_limiter": None})))
    assert travelling.rate_limiter is None and ask(travelling, "hi").endswith("hi")
    assert caplog.records == []  # nothing dropped with a warning on the way


def test_copies_in_one_process_share_the_rate_limiter(limited: tuple[Any, Any]) -> None:
    model, limiter = limited
    for duplicate in (copy.deepcopy(model), model.model_copy(deep=True)):
        assert duplicate is not model and duplicate.rate_limiter is limiter
        assert ask(duplicate, "from a copy").endswith("from a copy")
