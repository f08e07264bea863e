"""Step 2 of the seed: choose the registrant type and the method."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from regflow import (
    CITIZEN_BY_BHXH,
    ChooseMethod,
    Engine,
    Message,
    MethodRegistry,
    RegistrationMethod,
    State,
)

if TYPE_CHECKING:
    from regflow.testing import FakePorts


def test_a_new_flow_offers_the_method_choice(engine: Engine) -> None:
    view = engine.start("bhxh_registration")

    assert view.state is State.CHOOSING_METHOD
    assert view.ok
    assert view.allowed_events == {"choose_method"}
    assert view.details.methods == (CITIZEN_BY_BHXH,)
    assert view.details.methods[0].subject_label.vi == "Công dân"
    assert view.details.methods[0].method_label.vi == "Bảo hiểm xã hội"


def test_citizen_with_social_insurance_opens_the_bhxh_form(engine: Engine) -> None:
    view = engine.send(engine.start("bhxh_registration").flow_id, ChooseMethod("citizen", "bhxh"))

    assert view.state is State.FILLING_FORM
    assert view.ok
    assert view.allowed_events == {"submit_form"}


@pytest.mark.parametrize(
    ("subject", "method"),
    [("organisation", "bhxh"), ("citizen", "vneid"), ("", ""), (None, 42)],
)
def test_any_other_choice_is_unsupported_and_the_choice_stays_open(
    engine: Engine, subject: object, method: object
) -> None:
    flow_id = engine.start("bhxh_registration").flow_id

    view = engine.send(flow_id, ChooseMethod(subject, method))  # type: ignore[arg-type]

    assert view.state is State.CHOOSING_METHOD
    assert view.error_codes() == ("method.unsupported",)
    assert view.errors[0].field == "method"
    assert view.errors[0].message.vi
    assert view.errors[0].message.en
    assert engine.send(flow_id, ChooseMethod("citizen", "bhxh")).state is State.FILLING_FORM


def test_a_host_app_can_register_another_method(ports: FakePorts) -> None:
    organisation = RegistrationMethod(
        "organisation", "bhxh", Message("Tổ chức", "Organisation"), Message("BHXH", "BHXH")
    )
    engine = ports.engine(methods=MethodRegistry().with_method(organisation))

    view = engine.send(
        engine.start("bhxh_registration").flow_id, ChooseMethod("organisation", "bhxh")
    )

    assert view.state is State.FILLING_FORM
    assert engine.start("bhxh_registration").details.methods == (CITIZEN_BY_BHXH, organisation)
