"""A conversation rendered by the core's transcript template, read back into turns.

The labels and the heading come from :mod:`assisterr_core.chat`, so the players follow the
transcript wherever its wording goes.
"""

from __future__ import annotations

import re

from assisterr_core.chat import TRANSCRIPT_HEADING, TRANSCRIPT_LABELS

_ROLE_OF_LABEL = {label: role for role, label in TRANSCRIPT_LABELS.items()}
# A label opens a line; a tool's result names the tool in parentheses.
_LABEL = re.compile(
    "^(" + "|".join(re.escape(label) for label in TRANSCRIPT_LABELS.values())
    + r")(?: \([^)\n]*\))?: ?",
    re.M,
)


def split_transcript(text: str) -> tuple[str, list[tuple[str, str]]]:
    """What comes before the first labelled turn (the heading dropped), and each turn as
    (role, text), its text running to the next label."""
    labels = list(_LABEL.finditer(text))
    head = text[: labels[0].start() if labels else len(text)]
    turns = [
        (_ROLE_OF_LABEL[label[1]],
         text[label.end(): labels[i + 1].start() if i + 1 < len(labels) else len(text)].strip())
        for i, label in enumerate(labels)
    ]
    return head.strip().removeprefix(TRANSCRIPT_HEADING).strip(), turns


def template_pattern(template: str, **groups: str) -> str:
    """A regular expression for what ``template.format(...)`` writes: the literal parts as
    they are, each ``{name}`` matched by the pattern ``groups[name]`` (a numbered group)."""
    parts = re.split(r"\{(\w+)\}", template)
    return "".join(re.escape(part) if index % 2 == 0 else f"({groups[part]})"
                   for index, part in enumerate(parts))
