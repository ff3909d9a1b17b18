"""Fills a JSON schema from a question, as a model would: the local server's arguments and
structured answers. Generic: the schema's own names and descriptions steer it.

String fields take quoted text and capitalised names, a place for a field about places
("city", "destination"), a possessive for an owner, the question itself for a query; numbers
go to numeric fields in order; an enum (or a choice of constants) takes the value the
question names, else the one whose description fits it best. A required field
the question cannot fill gets a stand-in (counted in :attr:`SchemaFiller.guesses`); an
optional one is left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .question import Question, stem, stems, word_set

_NEGATIONS = frozenset({"not", "no", "never", "without", "dont", "don't", "doesnt", "doesn't"})
# Which phrases a string field takes, by what its name (else its description) is about.
_FIELD_KINDS: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("place", word_set("city town country location place destination origin address region "
                       "state capital area airport venue site village"),
     ("place", "name", "quoted", "owner", "opener")),
    ("owner", word_set("owner parent belong"), ("owner", "name", "quoted", "opener")),
    ("expression", word_set("expression formula equation math"), ()),
    ("name", word_set("name person user author customer recipient nickname friend contact "
                      "guest passenger attendee"),
     ("name", "owner", "quoted", "place", "opener")),
    ("text", word_set("query question text input prompt message content topic subject "
                      "keyword term sentence phrase body request"), ("quoted",)),
)
_ANY_PHRASE = ("quoted", "name", "place", "owner", "opener")
_DESCRIBED = "x-option-descriptions"  # an enum made of described constants (anyOf/oneOf)
# Specific fields choose first, so that a generic one does not take their phrase.
_ORDER = {"place": 0, "owner": 1, "expression": 2, "name": 3, "scalar": 4, "string": 5,
          "text": 6, "array": 7, "object": 8}


class SchemaFiller:
    """Walks a JSON schema (``$ref``, ``anyOf``, enums, nested objects and arrays) and
    fills it from one question; each phrase and number is used once."""

    def __init__(self, root: Mapping[str, Any], text: str) -> None:
        self.root = root
        self.question = Question(text)
        self.guesses = 0
        self._named: set[str] = set()  # enum options already given

    def value(self, schema: Mapping[str, Any], name: str = "", required: bool = True) -> Any:
        """A value for ``schema``; ``...`` (Ellipsis) when an optional field has none."""
        schema = self._flatten(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            return self._enum(list(schema["enum"]), required, schema.get(_DESCRIBED) or {})
        kind = _json_type(schema)
        if kind == "object":
            return self._object(schema, required)
        if kind == "array":
            return self._array(schema, name, required)
        if kind in ("integer", "number"):
            return self._number(kind, schema, required)
        if kind == "boolean":
            return self._boolean(name, schema, required)
        if kind == "null":
            return None
        return self._string(name, schema, required)

    def _object(self, schema: Mapping[str, Any], required: bool) -> Any:
        properties: Mapping[str, Any] = schema.get("properties") or {}
        needed = set(schema.get("required") or ())
        order = sorted(properties, key=lambda key: _ORDER[self._field_kind(key, properties[key])])
        filled = {key: self.value(properties[key], key, key in needed) for key in order}
        result = {key: filled[key] for key in properties if filled[key] is not ...}
        return result if result or required else ...

    def _array(self, schema: Mapping[str, Any], name: str, required: bool) -> Any:
        items = self._flatten(schema.get("items") or {"type": "string"})
        # Only phrases and numbers are used up; anything else would repeat the same value.
        consumed = _json_type(items) in ("string", "integer", "number") and not (
            {"enum", "const"} & set(items) or self._string_kind(name, items) == "text")
        values: list[Any] = []
        while (item := self.value(items, name, required=False)) is not ...:
            values.append(item)
            if not consumed:
                break
        if not values and required:
            values = [self.value(items, name, required=True)]
        return values if values or required else ...

    def _number(self, kind: str, schema: Mapping[str, Any], required: bool) -> Any:
        number = self.question.take_number()
        if number is None:
            if not required:
                return ...
            self.guesses += 1
            number = float(schema.get("minimum", 0))
        return int(number) if kind == "integer" or float(number).is_integer() else number

    def _boolean(self, name: str, schema: Mapping[str, Any], required: bool) -> Any:
        """True when the question uses the field's words, False when it negates them."""
        words = stems(name) | stems(str(schema.get("description", "")))
        tokens = self.question.text.lower().replace(",", " ").split()
        for at, token in enumerate(tokens):
            if stem(token.strip(".?!")) in words:
                return not any(t in _NEGATIONS for t in tokens[max(0, at - 3):at])
        if not required:
            return ...
        self.guesses += 1
        return False

    def _enum(self, options: list[Any], required: bool,
              described: Mapping[str, str] | None = None) -> Any:
        """The option the question names first (each once), else the one whose description
        shares most words with it, else the first option."""
        order = self.question.order
        named = [(order.index(min(stems(option), key=order.index)), option)
                 for option in options if isinstance(option, str) and option not in self._named
                 and stems(option) and stems(option) <= self.question.words]
        if not named and described:
            scores = [(len(stems(described.get(option, "")) & self.question.words), -i, option)
                      for i, option in enumerate(options)
                      if isinstance(option, str) and option not in self._named]
            score, _, best = max(scores, default=(0, 0, ""))
            if score:
                named = [(0, best)]
        if named:
            option = min(named, key=lambda item: item[0])[1]
            self._named.add(option)
            return option
        for option in options:
            if isinstance(option, int | float) and option in self.question.numbers:
                self.question.numbers.remove(option)
                return option
        if not required or not options:
            return ...
        self.guesses += 1
        return options[0]

    def _string(self, name: str, schema: Mapping[str, Any], required: bool) -> Any:
        kind = self._string_kind(name, schema)
        if kind == "expression":
            return self._expression()
        takes = next((order for k, _, order in _FIELD_KINDS if k == kind), _ANY_PHRASE)
        if not required:  # only what the question clearly gives: no opener, no stand-in
            takes = tuple(k for k in takes if k != "opener") if kind != "string" else ("quoted",)
        phrase = self.question.take(takes)
        if phrase is not None:
            return phrase
        if kind == "text" or required:
            if kind != "text":
                self.guesses += 1
            return self.question.text.strip()
        return ...

    def _expression(self) -> str:
        """The stretch of the question from its first number to its last ("2 plus 40")."""
        text = self.question.text
        digits = [i for i, ch in enumerate(text) if ch.isdigit()]
        return text[digits[0]:digits[-1] + 1] if digits else text.strip()

    def _field_kind(self, name: str, schema: Mapping[str, Any]) -> str:
        resolved = self._flatten(schema)
        kind = _json_type(resolved)
        if kind in ("array", "object"):
            return kind
        if kind != "string" or "enum" in resolved or "const" in resolved:
            return "scalar"
        return self._string_kind(name, resolved)

    def _string_kind(self, name: str, schema: Mapping[str, Any]) -> str:
        described = f"{schema.get('title', '')} {schema.get('description', '')}"
        for words in (stems(name), stems(described)):
            for kind, vocabulary, _ in _FIELD_KINDS:
                if words & vocabulary:
                    return kind
        return "string"

    def _flatten(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        """``schema`` with its ``$ref`` followed and an ``anyOf`` reduced to the first
        option that is not null (an Optional field is its type)."""
        schema = self._resolve(schema)
        for key in ("anyOf", "oneOf", "allOf"):
            if key in schema:
                options = [s for s in schema[key] if self._resolve(s).get("type") != "null"]
                rest = {k: v for k, v in schema.items() if k != key}
                consts = [self._resolve(s) for s in options]
                if key != "allOf" and consts and all("const" in c for c in consts):
                    # one of several constants (a choice among names): an enum whose
                    # options' descriptions can steer the choice
                    return {**rest, "type": _json_type(consts[0]),
                            "enum": [c["const"] for c in consts],
                            _DESCRIBED: {str(c["const"]): str(c.get("description", ""))
                                         for c in consts}}
                return self._flatten({**rest, **self._resolve(options[0])} if options
                                     else {**rest, "type": "null"})
        return schema

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/"):
            return schema
        target: Any = self.root
        for part in ref[2:].split("/"):
            target = target[part]
        return {**{k: v for k, v in schema.items() if k != "$ref"}, **target}


def _json_type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return str(kind)
