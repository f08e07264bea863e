"""What a screen asks for, read from the declaration: the fields of an event's payload.

An event's payload is a frozen attrs class (`regflow.declare.event`); `ui(...)` in a field's
``metadata`` gives it the label a page shows and the constraints a browser can check before
sending (``attrs.field(metadata=ui("Mã số BHXH", "BHXH number", max_length=10))``).
`fields_of` turns a payload class into `UiField`s, so a JSON API, a form renderer or an
OpenAPI schema describe every flow's screens from the one declaration, none by hand. A field
without `ui` metadata is still described: named after itself, of its annotation's type.
The engine's rules stay the judges: the constraints are hints that spare a round trip.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import attrs

from regflow._errors import Message

#: The key of a payload field's ``metadata`` that holds its `FieldUi`.
UI_KEY: Final = "regflow.ui"
#: Longer than any valid value of any field: the engine stops work on longer junk early.
MAX_INPUT_LENGTH: Final = 320
_KINDS: Final = frozenset({"text", "password", "date", "tel", "email", "otp", "hidden"})


@attrs.frozen(kw_only=True)
class FieldUi:
    """What the declaration says about one input: its label, kind and constraints."""

    label: Message
    kind: str = "text"
    max_length: int | None = MAX_INPUT_LENGTH
    pattern: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"a field's kind is one of {sorted(_KINDS)}, not {self.kind!r}")


def ui(
    vi: str,
    en: str,
    *,
    kind: str = "text",
    max_length: int | None = MAX_INPUT_LENGTH,
    pattern: str | None = None,
) -> dict[str, FieldUi]:
    """A payload field's ``metadata``: its label in Vietnamese and English, its input kind
    (text, password, date, tel, email, otp, hidden), the most characters it takes and the
    regular expression a valid value matches in full (by default none, and at most
    `MAX_INPUT_LENGTH` characters)."""
    return {
        UI_KEY: FieldUi(label=Message(vi, en), kind=kind, max_length=max_length, pattern=pattern)
    }


@attrs.frozen(kw_only=True)
class UiField:
    """One input of a screen: `name` is the payload field's, `required` whether the event
    needs it (no default), `max_length` and `pattern` what the declaration constrains."""

    name: str
    type: str
    required: bool
    label: Message
    max_length: int | None = None
    pattern: str | None = None

    @property
    def constraints(self) -> dict[str, int | str]:
        """The constraints the declaration gives, by name (``max_length``, ``pattern``)."""
        given = {"max_length": self.max_length, "pattern": self.pattern}
        return {name: value for name, value in given.items() if value is not None}


def fields_of(payload: type, *, required: frozenset[str] = frozenset()) -> tuple[UiField, ...]:
    """The inputs of `payload`, in the order it declares them; `required` names fields a
    flow requires though the class gives them a default."""
    return tuple(_field(field, required) for field in attrs.fields(attrs.resolve_types(payload)))


def _field(field: attrs.Attribute[object], required: frozenset[str]) -> UiField:
    declared = field.metadata.get(UI_KEY)
    if not isinstance(declared, FieldUi):
        declared = FieldUi(label=Message(field.name, field.name), kind=_kind_of(field.type))
    return UiField(
        name=field.name,
        type=declared.kind,
        required=field.default is attrs.NOTHING or field.name in required,
        label=declared.label,
        max_length=declared.max_length,
        pattern=declared.pattern,
    )


def _kind_of(annotation: object) -> str:
    """An undeclared field's kind: a date where its annotation admits one, else text."""
    return "date" if date in getattr(annotation, "__args__", (annotation,)) else "text"
