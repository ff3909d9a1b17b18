"""Parameters that other providers' models take and the Assisterr API has no control for.

Code ported from another provider passes them; they are accepted with a warning that
names each one (never an error, never silently), and nothing is sent for them.
"""

from __future__ import annotations

import difflib
import inspect
import warnings
from collections.abc import Collection, Iterable, Mapping

from ..transport.errors import InvalidRequestError

SAMPLING_PARAMETERS = frozenset({
    "temperature", "top_p", "top_k", "min_p", "typical_p",
    "max_tokens", "max_completion_tokens", "max_new_tokens", "max_output_tokens",
    "num_predict", "num_ctx", "presence_penalty", "frequency_penalty",
    "repetition_penalty", "repeat_penalty", "seed", "n", "logprobs", "top_logprobs",
    "logit_bias", "reasoning_effort", "mirostat",
})
"""Sampling and length controls: the API takes one query string and nothing else."""


def sampling_arguments(arguments: Mapping[str, object]) -> list[str]:
    """The sampling controls among ``arguments`` that are set (not None), in their order."""
    return [name for name, value in arguments.items()
            if name in SAMPLING_PARAMETERS and value is not None]


class IgnoredParameterWarning(UserWarning):
    """A parameter was given that the Assisterr API cannot honour; it is not sent."""


def warn_ignored_parameters(owner: str, names: Iterable[str], *, stacklevel: int = 3) -> None:
    """One warning per parameter in ``names``, saying that the API has no such control."""
    for name in sorted(set(names)):
        warnings.warn(
            f"{owner}({name}=...) is ignored: the Assisterr API has no {name} control "
            "(it takes one query string), so nothing is sent for it.",
            IgnoredParameterWarning,
            stacklevel=stacklevel,
        )


def warn_ignored_at_caller(owner: str, names: Collection[str], *,
                           libraries: Collection[str]) -> None:
    """:func:`warn_ignored_parameters`, pointed at the first frame outside ``libraries``
    (top-level package names): the caller's own line, however many framework and
    integration frames lie between."""
    if not names:
        return
    frame = inspect.currentframe()
    frame = frame.f_back if frame else None  # the caller of this function
    level = 3  # 1: warn_ignored_parameters, 2: this function, 3: its caller
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in libraries:
        frame, level = frame.f_back, level + 1
    del frame
    warn_ignored_parameters(owner, names, stacklevel=level)


def unexpected_arguments(owner: str, given: Iterable[str],
                         known: Collection[str]) -> InvalidRequestError | None:
    """The error for names in ``given`` that ``owner`` does not take (each with the closest
    name it does take, if one is close), or None when there are none: a misspelt name
    must not be dropped silently."""
    unknown = sorted(set(given) - set(known) - SAMPLING_PARAMETERS)
    if not unknown:
        return None
    return InvalidRequestError(
        owner, "unexpected argument(s): "
        + "; ".join(_with_suggestion(name, known) for name in unknown))


def _with_suggestion(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    return f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
