"""What the local server's model play reads in a question: word stems, numbers, and the
names, places and quoted text that can fill a schema's string fields. Generic, no model.

Stems come from a light suffix stripper and a small table of synonyms for arithmetic and
common verbs ("plus" and "sum" mean "add"), so a question meets a tool's description in the
same words whatever form either uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


def word_set(words: str) -> frozenset[str]:
    """The whitespace-separated words of ``words``."""
    return frozenset(words.split())


STOP_WORDS = word_set("""
a an and are as at be been being but by can could did do does doing for from get gets give
had has have how i if in into is it its let me my of on or our please should so tell than
that the their them then there these they this those to up us was we were what when where
which who whom why will with would you your about just like need want know show find out
""")

# Generic synonyms: each word on the right reads as the stem on the left.
_SYNONYM_GROUPS = {
    "add": "plus sum total added adding addition",
    "subtract": "minus difference subtracted subtracting subtraction",
    "multiply": "times product multiplied multiplying multiplication",
    "divide": "divided dividing division quotient",
    "power": "exponent raised squared cubed",
    "calculate": "compute computing evaluate calculator calculation",
    "search": "lookup look seek",
    "send": "email mail notify",
    "create": "make build",
    "delete": "remove erase",
    "convert": "translate transform",
}
_SYNONYMS = {word: stem for stem, words in _SYNONYM_GROUPS.items() for word in word_set(words)}

_UNITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
          "eighteen", "nineteen")
_TENS = ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_NUMBER_WORDS = {word: n for n, word in enumerate(_UNITS)} | {
    word: 20 + 10 * n for n, word in enumerate(_TENS)}
_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000}

_TOKEN = re.compile(r"-?\d+(?:\.\d+)?|[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_QUOTED = re.compile(r"(?<!\w)'([^']+)'(?!\w)|\"([^\"]+)\"|“([^”]+)”")
_CAPITALISED = re.compile(r"\b[A-Z][\w-]*(?:'s)?(?:\s+[A-Z][\w-]*(?:'s)?)*")
_PLACE_PREPOSITIONS = frozenset({"in", "at", "to", "from", "near", "around", "into"})
_SENTENCE_END = re.compile(r"[.!?:;]\s*$|\n\s*$")  # a sentence's end, or a line's
# Capitalised, but formats a request mentions ("as JSON"), not names.
_FORMAT_WORDS = word_set("json xml yaml csv html markdown sql api url pdf")
_NAMING = re.compile(r"\b(?:named|called|titled|name is)\s*$", re.I)  # before a quoted name


def stem(word: str) -> str:
    """A word's stem: synonyms first, then the common English suffixes."""
    word = word.lower().removesuffix("'s")
    if word in _SYNONYMS:
        return _SYNONYMS[word]
    for suffix, replacement, shortest in (("ies", "y", 3), ("ches", "ch", 3), ("shes", "sh", 3),
                                          ("sses", "ss", 3), ("xes", "x", 2), ("ing", "", 3),
                                          ("ed", "", 3), ("s", "", 3)):
        if word.endswith(suffix) and len(word) - len(suffix) >= shortest and word[-2:] != "ss":
            base = word[: -len(suffix)] + replacement
            return _SYNONYMS.get(base, base)
    return word


def stems(text: str) -> set[str]:
    """The stems of the words in ``text`` (identifiers split), without stop words or numbers."""
    return set(stem_sequence(text))


def stem_sequence(text: str) -> list[str]:
    """The stems of :func:`stems`, in order, repeats kept."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).replace("_", " ")
    return [stem(token) for token in _TOKEN.findall(spaced)
            if not token[0].isdigit() and token[0] != "-" and len(token) > 1
            and token.lower().removesuffix("'s") not in STOP_WORDS]


@dataclass
class Phrase:
    """A candidate value for a string field. ``kind``: "quoted", "place" (a capitalised
    name after "in", "at", "to", "from", ...), "name" (another capitalised name), "owner" (a
    possessive: "Ann's") or "opener" (a sentence's capitalised first word). Quoted text
    after "named" or "called" is a name."""

    text: str
    kind: str
    used: bool = False


@dataclass
class Question:
    """The parts of a question that can fill a schema, in the order they appear."""

    text: str
    order: list[str] = field(init=False)  # the stems, in the order the words come
    words: set[str] = field(init=False)
    numbers: list[float] = field(init=False)
    phrases: list[Phrase] = field(init=False)

    def __post_init__(self) -> None:
        self.order = stem_sequence(self.text)
        self.words = set(self.order)
        quoted = [Phrase(next(g for g in m.groups() if g),
                         "name" if _NAMING.search(self.text[: m.start()]) else "quoted")
                  for m in _QUOTED.finditer(self.text)]
        unquoted = _QUOTED.sub(" ", self.text)
        self.numbers = numbers_in(unquoted)
        self.phrases = quoted + _names(unquoted)

    def take(self, kinds: tuple[str, ...]) -> str | None:
        """The first unused phrase of the first kind in ``kinds`` that has one."""
        for kind in kinds:
            for phrase in self.phrases:
                if phrase.kind == kind and not phrase.used:
                    phrase.used = True
                    return phrase.text
        return None

    def take_number(self) -> float | None:
        return self.numbers.pop(0) if self.numbers else None


def _names(text: str) -> list[Phrase]:
    """Capitalised names. A sentence's (or a line's) first word is capitalised anyway:
    unless it is a possessive, it is split off as an "opener" (a last resort), or dropped
    when it is a common word."""
    found: list[Phrase] = []
    for match in _CAPITALISED.finditer(text):
        words = match.group().split()
        before = text[: match.start()]
        previous = before.split()[-1].lower() if before.split() else ""
        if (not before.strip() or _SENTENCE_END.search(before)) and not words[0].endswith("'s"):
            opener, words = words[0], words[1:]
            if opener.lower() not in STOP_WORDS and not _is_common(opener):
                found.append(Phrase(opener, "opener"))
            previous = opener.lower()
        words = [w for w in words if w.lower() not in STOP_WORDS | _FORMAT_WORDS]
        if not words:
            continue
        possessive = words[-1].endswith("'s")
        name = " ".join(words).removesuffix("'s")
        kind = "owner" if possessive else "place" if previous in _PLACE_PREPOSITIONS else "name"
        found.append(Phrase(name, kind))
    return found


def _is_common(word: str) -> bool:
    """A capitalised sentence opener that is an ordinary verb or question word."""
    return stem(word) in _SYNONYMS.values() or word.lower() in {
        "describe", "explain", "list", "say", "return", "answer", "compute", "whats", "what's",
        "hello", "hi", "hey", "thanks", "yes", "no", "ok", "okay", "look", "check", "book",
        "add", "send", "search", "translate", "convert", "call", "use", "remind", "set",
    }


def numbers_in(text: str) -> list[float]:
    """Numbers in ``text``, in order: digits, and numbers in words ("forty-two", "two hundred")."""
    values: list[float] = []
    pending: float | None = None  # a number being read from words
    lowered = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text.lower())
    for word in re.findall(r"-?\d+(?:\.\d+)?|[a-z]+", lowered):
        word_value = _NUMBER_WORDS.get(word)
        if word_value is not None:
            if pending is not None and not _continues(pending, word_value):
                values.append(pending)
                pending = None
            pending = word_value if pending is None else pending + word_value
        elif word in _SCALES and pending is not None:
            pending *= _SCALES[word]
        elif word == "and" and pending is not None and pending >= 100:
            continue  # "two hundred and five"
        else:
            if pending is not None:
                values.append(pending)
                pending = None
            if not word.isalpha():
                values.append(float(word))
    if pending is not None:
        values.append(pending)
    return values


def _continues(number: float, word_value: int) -> bool:
    """Whether a number word extends the number read so far ("twenty" + "one")."""
    tens_then_unit = word_value < 10 and number % 100 >= 20 and number % 10 == 0
    scale_then_rest = word_value < 100 and number >= 100 and number % 100 == 0
    return tens_then_unit or scale_then_rest
