"""LlamaIndex's LLM hooks, as its docs set them on a local model's LLM."""

from __future__ import annotations

from collections.abc import Sequence

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool

from assisterr_emulator import EmulatorServer

from ._llama_index import FRANCE, HANDLE, make_index, make_llm, multiply
from .conftest import pattern


def tagged(messages: Sequence[ChatMessage]) -> str:
    """A ``messages_to_prompt`` of the kind LlamaIndex's local-model docs write."""
    turns = "".join(f"<|{m.role.value}|>{m.content}<|end|>" for m in messages)
    return f"{turns}<|assistant|>"


def tagged_completion(completion: str) -> str:
    return f"<|user|>{completion}<|end|><|assistant|>"


@pattern("LlamaIndex", "messages_to_prompt and completion_to_prompt",
         "the LLM's own prompt hooks write the query: chat (system prompt, tool instructions "
         "and retrieved context included) and completion")
def test_messages_to_prompt_and_completion_to_prompt(
    assisterr_emulator: EmulatorServer,
) -> None:
    llm = make_llm(assisterr_emulator, messages_to_prompt=tagged,
                   completion_to_prompt=tagged_completion, system_prompt="Be brief.")

    chat = llm.chat([ChatMessage(role="user", content="Hi, I am Ada.")])
    completion = llm.complete("Hi, I am Ada.")
    llm.chat_with_tools([FunctionTool.from_defaults(multiply)], "What is 6 times 7?")
    answer = make_index(FRANCE).as_query_engine(llm=llm).query("Which city is the capital?")

    assert chat.message.content.startswith(f"Hello from {HANDLE}!")
    assert completion.text.startswith(f"Hello from {HANDLE}!") and str(answer)
    chatted, completed, with_tools, queried = (r.query or ""
                                               for r in assisterr_emulator.chat_requests())
    assert chatted == "<|system|>Be brief.<|end|><|user|>Hi, I am Ada.<|end|><|assistant|>"
    assert completed.endswith("<|user|>Hi, I am Ada.<|end|><|assistant|>")
    assert with_tools.startswith("<|system|>Be brief.<|end|><|system|>You can use these tools:")
    assert with_tools.endswith("<|user|>What is 6 times 7?<|end|><|assistant|>")
    assert queried.startswith("<|system|>Be brief.<|end|>") and FRANCE in queried
