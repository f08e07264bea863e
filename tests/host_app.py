"""A host portal that adds its own business rule to regflow's machine (docs/testing.md).

The portal turns away citizens under 15: they are registered by a parent. The rule is one
more rejection on ``submit_form``, tried right after the form's own checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import regflow
from regflow import FlowError, Message, RegistrationForm, State, Step, rule
from regflow import machine as base

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

MINIMUM_AGE: Final = 15
TOO_YOUNG: Final = Message(
    "Công dân dưới 15 tuổi do cha, mẹ hoặc người giám hộ đăng ký.",
    "Citizens under 15 are registered by a parent or guardian.",
)


def _too_young_error(_: Step) -> Sequence[FlowError]:
    return [FlowError(code="portal.too_young", message=TOO_YOUNG, field="date_of_birth")]


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@rule("portal.too_young", vi=TOO_YOUNG.vi, en=TOO_YOUNG.en, report=_too_young_error)
def too_young(step: Step) -> bool:
    form = step.form
    assert isinstance(form, RegistrationForm)  # form_invalid is checked first
    return age_on(form.date_of_birth, step.now.date()) < MINIMUM_AGE


_AFTER_FORM_CHECK = 1 + next(
    i for i, spec in enumerate(base.TRANSITIONS) if spec["trigger"] == "submit_form"
)
TRANSITIONS: Final[list[dict[str, Any]]] = [
    *base.TRANSITIONS[:_AFTER_FORM_CHECK],
    {"trigger": "submit_form", "source": [State.FILLING_FORM, State.DATA_MISMATCH],
     "dest": None, "conditions": [too_young]},
    *base.TRANSITIONS[_AFTER_FORM_CHECK:],
]  # fmt: skip
INITIAL: Final = base.INITIAL
TERMINAL: Final = base.TERMINAL
EVENTS: Final = base.EVENTS
EXPIRE: Final = base.EXPIRE
#: The codes the static check accepts: regflow's and the portal's own.
ERRORS: Final = {*regflow.ERRORS, "portal.too_young"}
MACHINE: Final = base.build_machine(TRANSITIONS, name="portal")
