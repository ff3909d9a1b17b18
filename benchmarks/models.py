"""The measured models: ours, the peers and the floors, each built only if it can be.

A model that cannot be imported or built comes back as None with the reason, so the
table can say "not available" instead of dropping the row.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .raw import HANDLE, PEER_MODEL, RawAssisterr
from .servers import Endpoints

Built = tuple[Any | None, str]


def guarded(factory: Callable[[], Any]) -> Built:
    """``(model, "")``, or ``(None, "not available: <why>")`` if building it fails."""
    try:
        return factory(), ""
    except Exception as exc:
        return None, f"not available: {type(exc).__name__}: {exc}"[:160]


def core_client(ep: Endpoints) -> Built:
    def build() -> Any:
        from assisterr_core import AssisterrClient

        return AssisterrClient(api_key=ep.api_key, base_url=ep.emulator, max_retries=0)

    return guarded(build)


def async_core_client(ep: Endpoints) -> Built:
    def build() -> Any:
        from assisterr_core import AsyncAssisterrClient

        return AsyncAssisterrClient(api_key=ep.api_key, base_url=ep.emulator, max_retries=0)

    return guarded(build)


def chat_assisterr(ep: Endpoints) -> Built:
    def build() -> Any:
        from langchain_assisterr import ChatAssisterr

        return ChatAssisterr(model=HANDLE, api_key=ep.api_key, base_url=ep.emulator,
                             max_retries=0)

    return guarded(build)


def assisterr_llm(ep: Endpoints) -> Built:
    def build() -> Any:
        from llama_index_assisterr import Assisterr

        return Assisterr(model=HANDLE, api_key=ep.api_key, base_url=ep.emulator,
                         max_retries=0)

    return guarded(build)


def chat_openai(ep: Endpoints) -> Built:
    def build() -> Any:
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model=PEER_MODEL, api_key="stub",  # type: ignore[arg-type]
                          base_url=f"{ep.stub}/v1", max_retries=0)

    return guarded(build)


def openai_llm(ep: Endpoints) -> Built:
    def build() -> Any:
        from llama_index.llms.openai import OpenAI

        return OpenAI(model=PEER_MODEL, api_key="stub", api_base=f"{ep.stub}/v1",
                      max_retries=0)

    return guarded(build)


def lc_floor(raw: RawAssisterr) -> Built:
    def build() -> Any:
        from .floors import FloorChatModel

        return FloorChatModel(raw=raw)

    return guarded(build)


def li_floor(raw: RawAssisterr) -> Built:
    def build() -> Any:
        from .floors import FloorLLM

        return FloorLLM(raw=raw)

    return guarded(build)


def candidate_of(built: Built, call: Callable[[Any], Callable[[], float]]) -> tuple[
        Callable[[], float] | None, str]:
    """The measuring function for a built model, or None and the reason it is missing."""
    model, note = built
    return (call(model), "") if model is not None else (None, note)


def close(*built: Built) -> None:
    """Release the sync connection pools of built models (a model's own, or its client's)."""
    for model, _ in built:
        for target in (model, getattr(model, "_client", None)):
            closer = getattr(target, "close", None)
            if callable(closer) and not inspect.iscoroutinefunction(closer):
                closer()
                break


async def aclose_peers(*built: Built) -> None:
    """Close the peers' async OpenAI clients on the running loop (they outlive it otherwise)."""
    for model, _ in built:
        for name in ("root_async_client", "_aclient"):
            client = getattr(model, name, None)
            if client is not None and hasattr(client, "close"):
                await client.close()
