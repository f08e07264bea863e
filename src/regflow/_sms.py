"""Text messages as Vietnamese operators deliver them: a brandname and an approved template.

An operator delivers a brandname text (the sender shows as the brand, not a number) only when
the text follows a template the brand registered and had approved: fixed words, a few
parameters of bounded length, the brand named in the text, and no diacritics, so that the
message travels in the GSM-7 alphabet and fits one segment of 160 characters (a text with
Vietnamese tone marks goes as UCS-2, 70 characters a segment, and costs two or three).

`SmsTemplate` checks all of that when it is built, with every parameter at its longest,
so a template that would not fit fails at start-up or in a test, never at a citizen's send.
regflow's own templates are data (`sms_templates.toml` in the package), loaded once.
"""

from __future__ import annotations

import os
import re
import string
import tomllib
import unicodedata
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import attrs

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

#: Characters in one GSM-7 segment without a user data header (GSM 03.38, 3GPP TS 23.038).
SEGMENT_LENGTH: Final = 160
#: The GSM 03.38 default alphabet, one septet each; the escape (0x1B) to the extension table
#: is left out, so ``[]{}|~^\\€`` (two septets, and mangled by some networks) do not pass.
GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: What operators accept as a brandname: at most 11 letters, digits, spaces, dots or hyphens.
_BRANDNAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .-]{0,10}", re.ASCII)
#: The placeholder a template's text may use for its brandname (it is not a parameter).
BRANDNAME_FIELD: Final = "brandname"
_SHIPPED: Final = "sms_templates.toml"


def unfit_character(text: str) -> str | None:
    """The first character an operator would not carry in a GSM-7 brandname text, or None.

    Outside the basic GSM alphabet, or a letter with a diacritic: operators ask for texts
    "không dấu" even where GSM has the letter (à, é, ...).
    """
    for character in text:
        if character not in GSM7_BASIC or unicodedata.normalize("NFD", character) != character:
            return character
    return None


def _frozen(values: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(values))


def _parameters(
    _: SmsTemplate, __: attrs.Attribute[Mapping[str, int]], value: Mapping[str, int]
) -> None:
    for name, length in value.items():
        if not name.isidentifier() or name == BRANDNAME_FIELD:
            raise ValueError(f"SMS template parameter {name!r} is not a usable name")
        if not isinstance(length, int) or isinstance(length, bool) or length < 1:
            raise ValueError(f"SMS template parameter {name!r}: its maximum length must be ≥ 1")


@attrs.frozen(kw_only=True)
class SmsTemplate:
    """A text the brand registered with its provider: `id` is the provider's id for it.

    `text` names each parameter in braces (``{code}``) and may write the brand as
    ``{brandname}``; `params` gives each parameter's maximum length in characters. Building
    one checks that the text, with every parameter at that length, is one GSM-7 segment
    without diacritics and names the brand; a failing check raises `ValueError`.
    """

    id: str = attrs.field(validator=attrs.validators.matches_re(r"\S+"))
    brandname: str = attrs.field(validator=attrs.validators.matches_re(_BRANDNAME))
    params: Mapping[str, int] = attrs.field(converter=_frozen, validator=_parameters)
    text: str = attrs.field(validator=attrs.validators.instance_of(str))

    def __attrs_post_init__(self) -> None:
        self._check_placeholders()
        self._check_fit()

    def render(self, values: Mapping[str, str]) -> str:
        return self.text.format_map({BRANDNAME_FIELD: self.brandname, **values})

    def registration_text(self, placeholder: str = "{{{name}}}") -> str:
        """The text to register with the provider: the brand written out, each parameter
        as the provider marks one (`placeholder` takes ``{name}`` and ``{max_length}``)."""
        marks = {n: placeholder.format(name=n, max_length=m) for n, m in self.params.items()}
        return self.render(marks)

    def _check_placeholders(self) -> None:
        used = set()
        for _, name, spec, conversion in string.Formatter().parse(self.text):
            if name is None:
                continue
            if name != BRANDNAME_FIELD and name not in self.params:
                raise ValueError(f"SMS template {self.id!r}: no parameter {{{name}}} declared")
            if spec or conversion:
                raise ValueError(f"SMS template {self.id!r}: {{{name}}} takes no format")
            used.add(name)
        if unused := set(self.params) - used:
            raise ValueError(f"SMS template {self.id!r}: parameters {sorted(unused)} unused")

    def _check_fit(self) -> None:
        longest = self.render({name: "0" * length for name, length in self.params.items()})
        if (character := unfit_character(longest)) is not None:
            raise ValueError(
                f"SMS template {self.id!r}: {character!r} is not in the GSM 03.38 basic "
                "alphabet without diacritics (write Vietnamese without tone marks)"
            )
        if len(longest) > SEGMENT_LENGTH:
            raise ValueError(
                f"SMS template {self.id!r} does not fit one GSM-7 segment: {len(longest)} "
                f"characters with its longest parameters, at most {SEGMENT_LENGTH}"
            )
        if self.brandname not in longest:
            raise ValueError(f"SMS template {self.id!r} does not name its brand in the text")


def _values(
    message: SmsMessage, _: attrs.Attribute[Mapping[str, str]], value: Mapping[str, str]
) -> None:
    template = message.template
    if set(value) != set(template.params):
        raise ValueError(f"SMS template {template.id!r} takes {sorted(template.params)}")
    for name, given in value.items():
        fits = isinstance(given, str) and len(given) <= template.params[name]
        if not fits or unfit_character(given) is not None:
            raise ValueError(f"SMS template {template.id!r}: parameter {name!r} does not fit")


@attrs.frozen
class SmsMessage:
    """One text to send: an approved template and its parameters, checked to fit it.

    Brandname providers take ``template.id``, ``template.brandname`` and `params`; a
    provider that takes plain text gets `text`. The parameters (the OTP among them) are
    left out of the repr, so a logged message shows no code.

    `idempotency_key` is set on a text the outbox worker delivers (`regflow.deliver_outbox`):
    the same on every attempt at one text, so a provider that takes one can drop a repeat.
    """

    template: SmsTemplate
    params: Mapping[str, str] = attrs.field(converter=_frozen, validator=_values, repr=False)
    idempotency_key: str | None = attrs.field(default=None, kw_only=True)

    @property
    def text(self) -> str:
        """The rendered text, as the citizen's phone shows it."""
        return self.template.render(self.params)


def load_sms_templates(
    source: str | os.PathLike[str] | Traversable, *, brandname: str | None = None
) -> dict[str, SmsTemplate]:
    """The templates of a TOML file, by key; each is checked as it is built.

    The file gives ``brandname`` once and a ``[templates.<key>]`` table per template with
    ``id``, ``text`` and ``params`` (name = maximum length); `brandname` overrides the
    file's. Anything missing or unfit raises `ValueError` naming the file and the template.
    """
    place = Path(source) if isinstance(source, str | os.PathLike) else source
    document = tomllib.loads(place.read_text(encoding="utf-8"))
    brand: Any = brandname or document.get("brandname")  # checked by SmsTemplate
    tables = document.get("templates", {})
    if not isinstance(tables, dict):
        raise ValueError(f"{place}: 'templates' must be a table of [templates.<key>] tables")  # noqa: TRY004 - the documented error of a bad file
    templates: dict[str, SmsTemplate] = {}
    for key, table in tables.items():
        try:
            templates[key] = SmsTemplate(
                id=table["id"], brandname=brand, text=table["text"], params=table.get("params", {})
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{place}: SMS template {key!r}: {exc}") from exc
    return templates


#: regflow's own templates, from the package's `sms_templates.toml`.
SMS_TEMPLATES: Final = load_sms_templates(resources.files("regflow").joinpath(_SHIPPED))
#: The OTP text `Policy.otp_sms` sends unless a host sets its own.
OTP_SMS: Final = SMS_TEMPLATES["otp"]
