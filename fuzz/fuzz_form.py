"""Coverage-guided fuzzing of the BHXH form parser with atheris.

    pip install 'regflow[fuzz]'
    python fuzz/fuzz_form.py -atheris_runs=1000000 [corpus_dir]

The input bytes are split on NUL into the form's five fields (UTF-8, undecodable bytes
replaced), so the fuzzer steers every field; `check_one_input` is plain Python, which is
what lets `tests/test_fuzz_harness.py` run the seeds without atheris.
"""

from __future__ import annotations

import sys
from datetime import date

from regflow import ERRORS, RegistrationForm, SubmitForm
from regflow.vn._validation import parse_form  # the parser itself: no flow around it

TODAY = date(2026, 1, 1)
FIELDS = 5


def form_from(data: bytes) -> SubmitForm:
    """The form whose fields are `data`'s NUL-separated parts (missing ones empty)."""
    parts = data.decode("utf-8", errors="replace").split("\0", FIELDS - 1)
    parts += [""] * (FIELDS - len(parts))
    bhxh_number, full_name, born, phone, email = parts
    return SubmitForm(
        bhxh_number=bhxh_number,
        full_name=full_name,
        date_of_birth=born,
        phone=phone,
        email=email or None,
    )


def check_one_input(data: bytes) -> None:
    """Parse; a refusal must name catalogued codes, an acceptance must be a whole form."""
    result = parse_form(form_from(data), TODAY)
    if isinstance(result, tuple):
        if not result or any(error.code not in ERRORS for error in result):
            raise AssertionError(f"refusal without a known code: {result!r}")
    elif not isinstance(result, RegistrationForm):
        raise TypeError(f"neither a form nor errors: {result!r}")


def main() -> None:
    import atheris  # noqa: PLC0415 - only the fuzzing run needs it

    atheris.instrument_all()
    atheris.Setup(sys.argv, check_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
