"""The inputs of a screen, read from the declaration (`regflow.declare.ui`, `EventInfo.fields`)."""

from __future__ import annotations

from datetime import date

import attrs
import pytest

from regflow import BHXH_REGISTRATION, BHXH_REGISTRATION_V1, Message, SubmitForm
from regflow.declare import event, ui


@attrs.frozen
class _Typed:
    postcode: str = attrs.field(metadata=ui("Mã bưu chính", "Postcode", pattern="[0-9]{6}"))
    born: str | date = ""
    note: str | None = attrs.field(default=None, metadata=ui("Ghi chú", "Note", max_length=None))


def test_a_field_says_its_label_kind_and_constraints() -> None:
    postcode, born, note = event(_Typed, "Gửi", "Send").fields
    assert postcode.name == "postcode"
    assert postcode.label == Message("Mã bưu chính", "Postcode")
    assert postcode.required
    assert dict(postcode.constraints) == {"max_length": 320, "pattern": "[0-9]{6}"}
    assert not note.required
    assert dict(note.constraints) == {}
    # a field without ui metadata: its own name, of its annotation's kind
    assert (born.label, born.type, born.required) == (Message("born", "born"), "date", False)


def test_a_flow_may_require_a_field_its_payload_leaves_optional() -> None:
    required = {
        f.name for f in event(_Typed, "Gửi", "Send", required=["note"]).fields if f.required
    }
    assert required == {"postcode", "note"}
    v1 = {f.name: f.required for f in BHXH_REGISTRATION_V1.events["submit_form"].fields}
    v2 = {f.name: f.required for f in BHXH_REGISTRATION.events["submit_form"].fields}
    assert (v1["id_number"], v2["id_number"], v2["email"]) == (False, True, False)
    assert [f.type for f in BHXH_REGISTRATION.events["submit_form"].fields] == [
        "text",
        "text",
        "date",
        "tel",
        "email",
        "text",
    ]
    assert BHXH_REGISTRATION.events["submit_form"].payload is SubmitForm


def test_a_declaration_names_only_fields_and_kinds_that_exist() -> None:
    with pytest.raises(ValueError, match="no field"):
        event(_Typed, "Gửi", "Send", required=["postcod"])
    with pytest.raises(ValueError, match="kind"):
        ui("Tuổi", "Age", kind="number")
