"""What ChatAssisterr does with the arguments it is given: the SLM under any of its names,
sampling controls the API lacks (a warning), and misspelt names (an error). Pure code.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from assisterr_core import SAMPLING_PARAMETERS, InvalidRequestError
from assisterr_core.chat import sampling_arguments, unexpected_arguments, warn_ignored_at_caller
from assisterr_core.transport import handle_name_from_env

MODEL_NAMES = ("model", "model_name", "handle_name")
"""Names the SLM's handle is taken under: ours, ChatOpenAI's, and the API's."""

# Frames of these packages are skipped so that a warning points at the caller's own line.
_LIBRARIES = frozenset({"pydantic", "pydantic_core", "langchain_core", "langchain",
                        "langgraph", "langchain_assisterr", "assisterr_core"})


def checked_arguments(owner: str, values: dict[str, Any], known: Collection[str]) -> dict[str, Any]:
    """``values`` without the sampling controls (each named in a warning), once the SLM is
    named at most once (else ``ASSISTERR_HANDLE_NAME`` names it) and every other name is
    one the class takes."""
    named = {values[name] for name in MODEL_NAMES if values.get(name) is not None}
    if not named:
        values = {**values, "model": handle_name_from_env(owner)}
    elif len(named) > 1:
        given = ", ".join(f"{n}={values[n]!r}" for n in MODEL_NAMES if values.get(n) is not None)
        raise InvalidRequestError("model", f"{owner} got two different SLMs ({given}): pass "
                                  "`model` once")
    warn_ignored(owner, sampling_arguments(values))
    refusal = unexpected_arguments(owner, values, known)
    if refusal is not None:
        raise refusal
    return {name: value for name, value in values.items() if name not in SAMPLING_PARAMETERS}


def warn_ignored(owner: str, names: Collection[str]) -> None:
    """The core's warning for parameters the API has no control for, pointed at the line
    of the caller's own code (past pydantic's and the frameworks' frames)."""
    warn_ignored_at_caller(owner, names, libraries=_LIBRARIES)

