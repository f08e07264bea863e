"""The atheris harness's target, on its seed corpus: it runs in CI even without atheris."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regflow import SubmitForm

if TYPE_CHECKING:
    from types import ModuleType

FUZZ = Path(__file__).parent.parent / "fuzz"


def _harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fuzz_form", FUZZ / "fuzz_form.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("seed", sorted((FUZZ / "corpus").iterdir()), ids=lambda p: p.name)
def test_every_seed_is_parsed_or_refused_with_known_codes(seed: Path) -> None:
    _harness().check_one_input(seed.read_bytes())


def test_the_bytes_become_the_five_fields() -> None:
    form = _harness().form_from(b"1\x002\x003\x004\x005\x00six")
    assert form == SubmitForm(
        bhxh_number="1", full_name="2", date_of_birth="3", phone="4", email="5\x00six"
    )
