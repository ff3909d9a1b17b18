"""The local server playing a ReAct agent's model: it reads LlamaIndex's ReAct prompt, answers it.

Nothing is tuned to a prompt's wording: a query is a ReAct one when its instructions list
tools as ``> Tool Name:`` / ``Tool Description:`` / ``Tool Args:`` entries (none at all is
fine) and lay out the ``Thought:`` / ``Action:`` / ``Action Input:`` / ``Observation:`` /
``Answer:`` steps. The reply follows that format:

- no observation since the user's question: a ``Thought``, then an ``Action`` naming the
  tool that best fits the question and an ``Action Input`` filled from it by the tool's
  schema (or, when no tool fits, an ``Answer``);
- observations since the question: a ``Thought`` and an ``Answer`` that quotes them.

The conversation after the instructions is read in the transcript form of
:func:`assisterr_core.transcript_template` or in the header blocks of
:class:`assisterr_core.Llama3Template`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from assisterr_core.chat import Llama3Template

from .tool_player import Tool, choose_tool, instance_of
from .transcript import split_transcript

_TOOL_ENTRY = re.compile(
    r"^> Tool Name: ([^\n]+)\nTool Description: (.*?)\nTool Args: (?=\{)", re.M | re.S
)
_STEP_MARKERS = ("Thought:", "Action:", "Action Input:", "Observation:", "Answer:")
# Where LlamaIndex's ReAct instructions end and the conversation begins: a section heading
# after the format, else the last code fence of the format examples.
_CONVERSATION_HEADING = re.compile(r"^#+ Current Conversation[ \t]*$", re.M)
_FENCE = re.compile(r"^```[ \t]*$", re.M)
_START, _END, _END_OF_TURN = (re.escape(token) for token in (
    Llama3Template.start_header, Llama3Template.end_header, Llama3Template.end_of_turn))
_LLAMA3_TURN = re.compile(rf"{_START}(\w+){_END}\n*(.*?)(?={_END_OF_TURN}|{_START}|\Z)", re.S)
_OBSERVATION = "Observation:"


def play(query: str, handle: str) -> str | None:
    """The next ReAct step for ``query``, or None when it is not a ReAct prompt."""
    if not all(marker in query for marker in _STEP_MARKERS):
        return None
    conversation = _conversation(query)
    if conversation is None:
        return None
    question, observations = _question_and_observations(conversation)
    tools = _tools(query[: len(query) - len(conversation)])
    if observations:
        return ("Thought: I can answer without using any more tools.\n"
                f"Answer: Hello from {handle}! The tool returned: " + "; ".join(observations))
    chosen = choose_tool(tools, question)
    if chosen is None:
        return ("Thought: I can answer without using any more tools.\n"
                f"Answer: Hello from {handle}! You said: {question}")
    name, _, schema = chosen
    arguments = instance_of(schema, question)
    return ("Thought: I need to use a tool to help me answer the question.\n"
            f"Action: {name}\nAction Input: {json.dumps(arguments, ensure_ascii=False)}")


def _tools(query: str) -> list[Tool]:
    """The tools the instructions list: name, description, JSON schema of the arguments."""
    decoder = json.JSONDecoder()
    tools: list[Tool] = []
    for match in _TOOL_ENTRY.finditer(query):
        try:
            schema: Any = decoder.raw_decode(query, match.end())[0]
        except ValueError:
            continue
        tools.append((match.group(1).strip(), " ".join(match.group(2).split()), schema))
    return tools


def _conversation(query: str) -> str | None:
    """The text after the ReAct instructions; None when the format is not laid out there."""
    headings = list(_CONVERSATION_HEADING.finditer(query))
    if headings:
        start = headings[-1].end()
        # the heading's own paragraph ends at a blank line, or where a Llama-3 block begins
        ends = [i for i in (query.find("\n\n", start + 1),
                            query.find(Llama3Template.start_header, start),
                            query.find(Llama3Template.end_of_turn, start)) if i >= 0]
        return query[min(ends, default=len(query)):]
    fences = list(_FENCE.finditer(query))
    if len(fences) < 2:
        return None
    return query[fences[-1].end():]


def _question_and_observations(conversation: str) -> tuple[str, list[str]]:
    """The user's newest question, and the observations that came after it."""
    turns = _turns(conversation)
    asked = max((i for i, (role, text) in enumerate(turns)
                 if role == "user" and not text.startswith(_OBSERVATION)), default=-1)
    question = turns[asked][1] if asked >= 0 else conversation.strip()
    observations = [text.removeprefix(_OBSERVATION).strip() for role, text in turns[asked + 1:]
                    if role != "assistant" and text.startswith(_OBSERVATION)]
    return question, observations


def _turns(conversation: str) -> list[tuple[str, str]]:
    """(role, text) pairs, from Llama-3 header blocks or transcript labels."""
    blocks = _LLAMA3_TURN.findall(conversation)
    if blocks:
        return [(role if role != "ipython" else "tool", text.strip()) for role, text in blocks
                if text.strip()]
    head, turns = split_transcript(conversation)
    return [("user", head), *turns] if head else turns
