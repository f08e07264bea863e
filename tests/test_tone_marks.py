"""Both tone-mark styles of Vietnamese compare equal; real differences still do not.

Nothing here is a list of example names: every spelling is built from the table of vowel
clusters below, which states where each style puts the tone.
"""

from __future__ import annotations

import itertools
import unicodedata

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regflow import Engine, State, normalise_name, place_tone_marks
from regflow.testing import CITIZEN, FakePorts, form_for

from .conftest import at_form

#: Where the tone goes in every vowel cluster of Vietnamese spelling, as the index of the
#: vowel that carries it: (open syllable, new style; open syllable, old style; closed
#: syllable). None: the cluster never spells a syllable of that kind.
CLUSTERS: dict[str, tuple[int | None, int | None, int | None]] = {
    "a": (0, 0, 0), "ă": (None, None, 0), "â": (None, None, 0),
    "e": (0, 0, 0), "ê": (0, 0, 0), "i": (0, 0, 0), "y": (0, 0, 0),
    "o": (0, 0, 0), "ô": (0, 0, 0), "ơ": (0, 0, 0), "u": (0, 0, 0), "ư": (0, 0, 0),
    "ai": (0, 0, None), "ao": (0, 0, None), "au": (0, 0, None), "ay": (0, 0, None),
    "âu": (0, 0, None), "ây": (0, 0, None), "eo": (0, 0, None), "êu": (0, 0, None),
    "ia": (0, 0, None), "iu": (0, 0, None), "oi": (0, 0, None), "ôi": (0, 0, None),
    "ơi": (0, 0, None), "ua": (0, 0, None), "ui": (0, 0, None), "ưa": (0, 0, None),
    "ưi": (0, 0, None), "ưu": (0, 0, None),
    "oa": (1, 0, 1), "oe": (1, 0, 1), "uy": (1, 0, 1),  # where the two styles differ
    "oă": (None, None, 1), "uâ": (None, None, 1), "uê": (1, 1, 1), "uơ": (1, 1, None),
    "iê": (None, None, 1), "yê": (None, None, 1), "uô": (None, None, 1), "ươ": (1, 1, 1),
    "oo": (None, None, 1), "ôô": (None, None, 1),
    "iêu": (1, 1, None), "yêu": (1, 1, None), "oai": (1, 1, None), "oao": (1, 1, None),
    "oay": (1, 1, None), "oeo": (1, 1, None), "uây": (1, 1, None), "uôi": (1, 1, None),
    "ươi": (1, 1, None), "ươu": (1, 1, None), "uya": (1, 1, None), "uyu": (1, 1, None),
    "uêu": (1, 1, None), "uyê": (None, None, 2),
}  # fmt: skip
#: The clusters that follow "qu" and "gi", whose u and i belong to the consonant (quý, giá).
AFTER_QU = ("a", "ă", "â", "e", "ê", "i", "ơ", "y", "ai", "ao", "ay", "ây", "eo", "yê")
AFTER_GI = ("a", "ă", "â", "e", "ê", "o", "ô", "ơ", "u", "ư", "ai", "ao", "au", "âu", "ay",
            "ây", "eo", "êu", "oi", "ôi", "ơi", "oă", "uô", "ưa", "ươ")  # fmt: skip
#: huyền, sắc, hỏi, ngã, nặng, and no tone at all.
TONES = ("\u0300", "\u0301", "\u0309", "\u0303", "\u0323", "")
FINALS = ("c", "ch", "m", "n", "ng", "nh", "p", "t")
#: Initials that leave the rule alone (gi and qu change it: see above).
INITIALS = ("", "đ", "ngh")
VOWELS = "aăâeêioôơuưy"


def spell(initial: str, cluster: str, final: str, tone: str, at: int | None) -> str:
    """A syllable with `tone` on the vowel at index `at` of `cluster`."""
    vowels = list(cluster)
    if tone and at is not None:
        vowels[at] = unicodedata.normalize("NFC", vowels[at] + tone)
    return initial + "".join(vowels) + final


def syllables(cluster: str) -> list[tuple[str, tuple[int, ...]]]:
    """Each syllable the table has for `cluster`: its final consonant and where the tone
    goes, in the new style first and in the old style last (the same, for most)."""
    open_new, open_old, closed = CLUSTERS[cluster]
    found: list[tuple[str, tuple[int, ...]]] = []
    if open_new is not None and open_old is not None:
        found.append(("", (open_new, open_old)))
    if closed is not None:
        found += [(final, (closed,)) for final in FINALS]
    return found


def spellings(*styles: str) -> set[str]:
    """The ways a citizen or a record may write a syllable spelt in `styles`: any case,
    composed or decomposed."""
    cased = {case(word) for word in styles for case in (str.lower, str.upper, str.title)}
    return cased | {unicodedata.normalize("NFD", word) for word in cased}


def check_syllable(initial: str, cluster: str, final: str, new: int, old: int) -> None:
    canonical = {tone: spell(initial, cluster, final, tone, new) for tone in TONES}
    for tone, expected in canonical.items():
        for typed in spellings(expected, spell(initial, cluster, final, tone, old)):
            placed = place_tone_marks(typed)
            assert placed.lower() == expected, (typed, placed, expected)
            assert unicodedata.is_normalized("NFC", placed)
            assert normalise_name(typed) == normalise_name(expected)
    assert len({normalise_name(word) for word in canonical.values()}) == len(TONES)


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_cluster_and_tone_in_either_style_is_placed_by_the_table(cluster: str) -> None:
    for initial, (final, at) in itertools.product(INITIALS, syllables(cluster)):
        check_syllable(initial, cluster, final, at[0], at[-1])


@pytest.mark.parametrize(
    ("initial", "cluster"),
    [("qu", cluster) for cluster in AFTER_QU] + [("gi", cluster) for cluster in AFTER_GI],
)
def test_after_qu_and_gi_the_tone_skips_the_consonants_vowel(initial: str, cluster: str) -> None:
    for final, at in syllables(cluster):
        check_syllable(initial, cluster, final, at[0], at[-1])
        # A tone typed on the u of "qu" or the i of "gi" belongs to the syllable's vowel.
        for tone in TONES:
            on_consonant = spell(initial[0], initial[1] + cluster, final, tone, 0)
            assert place_tone_marks(on_consonant) == spell(initial, cluster, final, tone, at[0])


@pytest.mark.parametrize("final", FINALS)
def test_gi_before_a_consonant_is_g_and_the_vowel_i(final: str) -> None:
    for tone in TONES:
        word = spell("g", "i", final, tone, 0)  # gìn, gịt: the i is the vowel
        assert place_tone_marks(word) == word
        assert place_tone_marks(word.upper()) == word.upper()


def not_clusters() -> list[str]:
    runs = ("".join(run) for size in (1, 2, 3) for run in itertools.product(VOWELS, repeat=size))
    return [run for run in runs if run not in CLUSTERS]


def test_words_that_are_not_vietnamese_syllables_are_only_normalised() -> None:
    for run in not_clusters():
        for at, tone in itertools.product(range(len(run)), TONES[:-1]):
            word = spell("th", run, "", tone, at)
            assert place_tone_marks(unicodedata.normalize("NFD", word)) == word
            assert place_tone_marks(word + "x") == word + "x"  # no such final consonant
    for tone in TONES[:-1]:
        on_consonant = unicodedata.normalize("NFC", "n" + tone) + "a"  # a tone on no vowel
        two_tones = unicodedata.normalize("NFC", spell("h", "oa", "", tone, 0) + TONES[0])
        for word in (on_consonant, two_tones):
            assert place_tone_marks(word) == word


@pytest.mark.parametrize(
    ("cluster", "tone"), list(itertools.product(("oa", "oe", "uy"), TONES[:-1]))
)
def test_a_record_in_one_style_matches_a_form_in_the_other(
    ports: FakePorts, cluster: str, tone: str
) -> None:
    old = spell("Th", cluster, "", tone, 0)
    new = spell("th", cluster, "", tone, 1)
    other_tone = spell("th", cluster, "", TONES[TONES.index(tone) - 1], 1)
    ports.bhxh.records[CITIZEN.bhxh_number] = attrs.evolve(CITIZEN, full_name=f"Lê Thị {old}")
    engine: Engine = ports.engine()

    mismatch = engine.send(at_form(engine).flow_id, form_for(full_name=f"LÊ THỊ {other_tone}"))
    match = engine.send(at_form(engine).flow_id, form_for(full_name=f"LÊ THỊ {new.upper()}"))

    assert mismatch.state is State.DATA_MISMATCH
    assert match.state is State.OTP_PENDING, match.errors


# --- properties ---------------------------------------------------------------------------------

#: A letter and the letters that differ from it by a quality mark only ("An" ≠ "Ân", "D" ≠ "Đ").
QUALITY = {"a": "ăâ", "ă": "aâ", "â": "aă", "e": "ê", "ê": "e", "o": "ôơ", "ô": "oơ",
           "ơ": "oô", "u": "ư", "ư": "u", "d": "đ", "đ": "d"}  # fmt: skip
ALPHABET = VOWELS + "bcdđghklmnpqrstvx"

#: A syllable as letters without a tone, the tone and the index of the letter carrying it.
Syllable = tuple[list[str], str, int]


@st.composite
def syllable(draw: st.DrawFn) -> Syllable:
    """A syllable of the table, its tone placed in either style."""
    cluster = draw(st.sampled_from(sorted(CLUSTERS)))
    initial = draw(st.sampled_from(("", "d", "đ", "ng", "th", "qu", "gi")))
    if initial[-1:] == cluster[0]:
        initial = initial[0]  # "qu" + "uy" is "quy"
    final, positions = draw(st.sampled_from(syllables(cluster)))
    at = len(initial) + draw(st.sampled_from(positions))
    return list(initial + cluster + final), draw(st.sampled_from(TONES)), at


def written(words: list[Syllable]) -> str:
    return " ".join(spell("", "".join(letters), "", tone, at) for letters, tone, at in words)


@given(st.text())
def test_placement_is_idempotent_nfc_and_keeps_every_letter_and_tone(text: str) -> None:
    placed = place_tone_marks(text)

    assert place_tone_marks(placed) == placed
    assert unicodedata.is_normalized("NFC", placed)
    before, after = (unicodedata.normalize("NFD", t) for t in (text, placed))
    assert [c for c in before if c not in TONES] == [c for c in after if c not in TONES]
    assert sorted(c for c in before if c in TONES) == sorted(c for c in after if c in TONES)


@given(st.lists(syllable(), min_size=1, max_size=4))
def test_a_name_in_either_style_is_placed_once_and_for_all(words: list[Syllable]) -> None:
    name = written(words)
    placed = place_tone_marks(name)

    assert place_tone_marks(placed) == placed
    assert normalise_name(placed) == normalise_name(name)


@given(st.lists(syllable(), min_size=1, max_size=4), st.data())
def test_names_that_differ_in_a_letter_a_quality_mark_or_a_tone_never_match(
    words: list[Syllable], data: st.DataObject
) -> None:
    which = data.draw(st.integers(0, len(words) - 1))
    letters, tone, at = words[which]
    index = data.draw(st.integers(0, len(letters) - 1))
    letter = letters[index]
    kind = data.draw(st.sampled_from(["letter", "quality", "tone"]))
    if kind == "tone":
        changed = (letters, data.draw(st.sampled_from([t for t in TONES if t != tone])), at)
    else:
        others = QUALITY.get(letter, "") if kind == "quality" else ALPHABET.replace(letter, "")
        replacement = data.draw(st.sampled_from(others or ALPHABET.replace(letter, "")))
        changed = ([*letters[:index], replacement, *letters[index + 1 :]], tone, at)
    other = [*words[:which], changed, *words[which + 1 :]]

    assert normalise_name(written(other)) != normalise_name(written(words))
