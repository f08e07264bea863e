"""Where a Vietnamese syllable's tone mark goes: one rule, so both spelling styles compare equal.

Vietnamese writes the tone (huyền `à`, sắc `á`, hỏi `ả`, ngã `ã`, nặng `ạ`) on one vowel of
the syllable. Two conventions disagree on three open vowel pairs, oa, oe and uy:

- the **old style** puts the mark on the first vowel (hòa, khỏe, thủy), as many input
  methods and older records still do;
- the **new style** of the 1984 rules of the Ministry of Education puts it on the main vowel,
  the second one (hoà, khoẻ, thuỷ).

Both are in use, in BHXH records too, and Unicode normalisation (NFC) keeps them apart.
`place_tone_marks` rewrites every syllable in the new style, by this rule:

1. The initial consonant is left out, with the u of "qu" and the i of "gi" before another
   vowel (quý, giá, giường), which belong to it; in "gìn" the i is the vowel.
2. A vowel with a quality mark (â ă ê ô ơ ư) takes the tone; in ươ, the ơ (người, rượu).
3. Otherwise one vowel takes it; a syllable closed by a final consonant puts it on its last
   vowel (hoàn, toán, huỳnh); an open one on the middle of three vowels (ngoài, khuỷu,
   ngoẹo), on the second of oa, oe, uy (hoà, khoẻ, thuỷ) and on the first of any other
   pair (hái, mía, múa, túi).

A word that is not a Vietnamese syllable (an initial consonant, one of the vowel clusters
below and one of the finals c ch m n ng nh p t) is only NFC-normalised: foreign names keep
their accents where they are. Letters, quality marks and the tone itself are never changed,
so names that differ in any of them still differ.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Final

_TONE_MARKS: Final = frozenset("\u0300\u0301\u0303\u0309\u0323")  # huyền sắc ngã hỏi nặng
_VOWELS: Final = frozenset("aăâeêioôơuưy")
_QUALITY_VOWELS: Final = frozenset("ăâêôơư")
#: Any Latin consonant, so the names of peoples who write their languages in the
#: Vietnamese alphabet ("Krông", "H'Wil") are covered too.
_CONSONANTS: Final = frozenset("bcdđfghjklmnpqrstvwxz")
_FINALS: Final = frozenset({"", "c", "ch", "m", "n", "ng", "nh", "p", "t"})
#: Every vowel cluster Vietnamese spells, once "qu" and "gi" have taken their vowel.
_CLUSTERS: Final = frozenset({
    *_VOWELS,
    "ai", "ao", "au", "âu", "ay", "ây", "eo", "êu", "ia", "iê", "iu", "oa", "oă", "oe", "oi",
    "ôi", "ơi", "oo", "ôô", "ua", "uâ", "uê", "ui", "uô", "uơ", "uy", "ưa", "ưi", "ươ", "ưu",
    "yê", "iêu", "yêu", "oai", "oao", "oay", "oeo", "uây", "uôi", "ươi", "ươu", "uya", "uyê",
    "uyu", "uêu",
})  # fmt: skip
#: The open pairs of a glide and the main vowel: the two styles differ on these alone.
_GLIDE_FIRST: Final = frozenset({"oa", "oe", "uy"})
#: Longer words are not Vietnamese syllables ("nghiêng" has seven letters).
_LONGEST_SYLLABLE: Final = 7
#: The words of texts up to this length (any name) are remembered, in at most 4096 entries.
_CACHED: Final = 256
#: A word: letters with any combining marks that NFC could not fold into them.
_WORD: Final = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+")


def place_tone_marks(text: str) -> str:
    """Return `text` in NFC with each Vietnamese syllable's tone mark in the new style.

    "Hòa", "hoà" and their decomposed forms all give "Hoà"; "THỦY" gives "THUỶ". Case is
    kept. Any text is accepted and nothing raises: words that are not Vietnamese syllables
    come back NFC-normalised and otherwise unchanged. The rule is in this module's
    docstring (and docs/flow.md).
    """
    if text.isascii():  # no tone marks at all
        return text
    text = unicodedata.normalize("NFC", text)
    if len(text) > _CACHED:
        return _WORD.sub(_word, text)
    return " ".join(map(_cached, text.split(" ")))


def words_with_tone_marks_placed(text: str) -> str:
    """`place_tone_marks` with the white space of `text` collapsed to single spaces: what a
    comparison of names needs, in one pass over the words."""
    if text.isascii():
        return " ".join(text.split())
    words = unicodedata.normalize("NFC", text).split()
    if len(text) > _CACHED:
        return _WORD.sub(_word, " ".join(words))
    return " ".join(map(_cached, words))


@functools.lru_cache(maxsize=4096)
def _cached(piece: str) -> str:
    """A piece of a short text between spaces, most often a word: names repeat their
    words, so each is worked out once."""
    return _WORD.sub(_word, piece)


def _word(match: re.Match[str]) -> str:
    word = match.group()
    if len(word) > _LONGEST_SYLLABLE:
        return word
    letters, tones = _letters(word)
    lower = [letter.lower() for letter in letters]
    if len(tones) != 1 or lower[tones[0][0]] not in _VOWELS:
        return word  # no tone to move, or marks no Vietnamese syllable has
    vowel = _tone_vowel(lower)
    if vowel is None:
        return word
    letters[vowel] += tones[0][1]
    return unicodedata.normalize("NFC", "".join(letters))


def _letters(word: str) -> tuple[list[str], list[tuple[int, str]]]:
    """The word's letters without tone marks, and each tone mark with its letter's index."""
    letters: list[str] = []
    tones: list[tuple[int, str]] = []
    for char in unicodedata.normalize("NFD", word):
        if not (letters and unicodedata.combining(char)):
            letters.append(char)
        elif char in _TONE_MARKS:
            tones.append((len(letters) - 1, char))
        else:
            letters[-1] += char
    return [unicodedata.normalize("NFC", letter) for letter in letters], tones


def _tone_vowel(letters: list[str]) -> int | None:
    """The index of the letter that carries the tone, or None if the word is no syllable."""
    start = 0
    while start < len(letters) and letters[start] in _CONSONANTS:
        start += 1
    initial = "".join(letters[:start])
    if start < len(letters) - 1 and (
        (initial == "q" and letters[start] == "u")
        or (initial == "g" and letters[start] == "i" and letters[start + 1] in _VOWELS)
    ):
        start += 1
    end = start
    while end < len(letters) and letters[end] in _VOWELS:
        end += 1
    cluster, final = "".join(letters[start:end]), "".join(letters[end:])
    if cluster not in _CLUSTERS or final not in _FINALS:
        return None
    return start + _position(cluster, closed=bool(final))


def _position(cluster: str, *, closed: bool) -> int:
    """Where in a vowel cluster the new style puts the tone (the rule of the docstring)."""
    marked = [i for i, vowel in enumerate(cluster) if vowel in _QUALITY_VOWELS]
    if marked:
        return marked[-1]
    if len(cluster) == 1:
        return 0
    if closed:
        return len(cluster) - 1
    if len(cluster) == 3:  # the middle of three vowels
        return 1
    return 1 if cluster in _GLIDE_FIRST else 0
