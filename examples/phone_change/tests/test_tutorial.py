"""docs/tutorial.md shows this package as it is: each code block is an excerpt of its file.

The files are what this package's tests run, so every block of the tutorial runs too.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TUTORIAL = ROOT / "docs" / "tutorial.md"
#: A fenced block: its language, and its lines.
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
NAMED = re.compile(r"# (examples/phone_change/\S+\.py)\n")


def blocks() -> list[tuple[str, str]]:
    return FENCE.findall(TUTORIAL.read_text(encoding="utf-8"))


def excerpts() -> list[tuple[str, str]]:
    """Each block as (the file its first line names, the lines after it)."""
    named = []
    for _, body in blocks():
        match = NAMED.match(body)
        assert match, f"a block of the tutorial names no file of the example:\n{body}"
        named.append((match.group(1), body[match.end() :]))
    return named


def test_every_block_is_python_that_names_its_file() -> None:
    assert blocks(), "the tutorial has no code"
    assert {language for language, _ in blocks()} == {"python"}
    assert {path for path, _ in excerpts()} == {
        "examples/phone_change/phone_change/flow.py",
        "examples/phone_change/phone_change/phones.py",
        "examples/phone_change/tests/conftest.py",
        "examples/phone_change/tests/test_phone_change.py",
        "examples/phone_change/tests/test_phone_change_stores.py",
        "examples/phone_change/tests/test_phone_change_tools.py",
    }


@pytest.mark.parametrize(("path", "excerpt"), excerpts(), ids=lambda value: value[:40])
def test_each_block_is_whole_statements_of_its_file(path: str, excerpt: str) -> None:
    text = "\n" + (ROOT / path).read_text(encoding="utf-8")

    assert "\n" + excerpt in text, f"docs/tutorial.md shows lines {path} no longer has"
    ast.parse(excerpt)  # whole statements: no block begins or ends inside one
