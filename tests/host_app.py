"""A host portal that adds its own business rule to regflow's registration (docs/testing.md).

The portal turns away citizens under 15: they are registered by a parent. The rule is one
more rejection on ``submit_form``, tried right after the form's own checks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import attrs

from regflow import BHXH_REGISTRATION, ErrorSpec, Message, State, Step, rule
from regflow.flows.registration import valid_form
from regflow.machine import TRANSITIONS as REGISTRATION

if TYPE_CHECKING:
    from datetime import date

MINIMUM_AGE: Final = 15
TOO_YOUNG: Final = Message(
    "Công dân dưới 15 tuổi do cha, mẹ hoặc người giám hộ đăng ký.",
    "Citizens under 15 are registered by a parent or guardian.",
)


def age_on(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


@rule("portal.too_young", vi=TOO_YOUNG.vi, en=TOO_YOUNG.en, field="date_of_birth")
def too_young(step: Step) -> bool:
    """The form is valid here (`form_invalid` is tried first): its date of birth is known."""
    return age_on(valid_form(step).date_of_birth, step.now.date()) < MINIMUM_AGE


_AFTER_FORM_CHECK: Final = 1 + next(
    i for i, spec in enumerate(REGISTRATION) if spec["trigger"] == "submit_form"
)
TRANSITIONS: Final[list[dict[str, Any]]] = [
    *REGISTRATION[:_AFTER_FORM_CHECK],
    {"trigger": "submit_form", "source": [State.FILLING_FORM, State.DATA_MISMATCH],
     "dest": None, "conditions": [too_young]},
    *REGISTRATION[_AFTER_FORM_CHECK:],
]  # fmt: skip
#: The registration with the portal's rule, and the portal's own error code.
PORTAL: Final = attrs.evolve(
    BHXH_REGISTRATION.with_transitions(TRANSITIONS),
    errors=(ErrorSpec("portal.too_young", TOO_YOUNG),),
)
