"""The texts a host shows for the error codes: regflow's, in the host's words and languages.

The catalogue (`regflow.ERRORS` and each flow's own `FlowSpec.errors`) says every code in
Vietnamese and English, and a `FlowError` carries those. A host that wants its own phrasing
(its brand, its tone) or a language of its own (Khmer for a Mekong delta province, say) lays
its texts over the catalogue instead of forking it: `Wording.of(*engine.flows)` and
`with_texts(...)` (or `with_toml(...)`, a file a translator can edit). Codes are checked: a text
for a code no flow has is refused, so a renamed code cannot leave a stale text behind.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from typing import TYPE_CHECKING

import attrs

from regflow._shipped import SHIPPED_FLOWS
from regflow.engine._compile import catalogue

if TYPE_CHECKING:
    from regflow._errors import FlowError
    from regflow.declare import FlowSpec


@attrs.frozen
class Wording:
    """Each code's text by language; `fallback` is said where a language has no text."""

    texts: Mapping[str, Mapping[str, str]]
    fallback: str = "vi"

    @classmethod
    def of(cls, *flows: FlowSpec) -> Wording:
        """The catalogue of regflow and of `flows` (by default the flows regflow ships)."""
        codes = catalogue(flows or SHIPPED_FLOWS)
        return cls(
            {code: {"vi": spec.message.vi, "en": spec.message.en} for code, spec in codes.items()}
        )

    def with_texts(self, texts: Mapping[str, Mapping[str, str]]) -> Wording:
        """This wording with `texts` (code → language → text) over it; the rest kept."""
        unknown = sorted(set(texts) - set(self.texts))
        if unknown:
            raise ValueError(f"no flow has the error code(s) {', '.join(unknown)}")
        for code, by_language in texts.items():
            if not isinstance(by_language, Mapping) or not all(
                isinstance(text, str) and text.strip() for text in by_language.values()
            ):
                raise ValueError(f"{code}: give each language's text as a non-empty string")
        merged = {code: {**known, **texts.get(code, {})} for code, known in self.texts.items()}
        return attrs.evolve(self, texts=merged)

    def with_toml(self, document: str) -> Wording:
        """`with_texts` from TOML: a table per code (quoted: ``["otp.invalid"]``), a key per
        language."""
        return self.with_texts(tomllib.loads(document))

    def text(self, code: str, lang: str) -> str:
        """The text of `code` in `lang`, or in the fallback language where it has none."""
        by_language = self.texts[code]
        return by_language.get(lang) or by_language[self.fallback]

    def message(self, error: FlowError, lang: str) -> str:
        """What the page shows for one error of a view."""
        return self.text(error.code, lang)

    def missing(self, lang: str) -> list[str]:
        """The codes with no text of their own in `lang`: a new language's to-do list."""
        return [code for code, by_language in self.texts.items() if lang not in by_language]
