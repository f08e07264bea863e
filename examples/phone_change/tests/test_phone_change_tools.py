"""regflow's tools read the phone change as they read regflow's own flows."""

from __future__ import annotations

from phone_change import PHONE_CHANGE
from regflow import diagram
from regflow.analysis import Declaration, check


def test_the_declaration_passes_the_static_check() -> None:
    assert check(Declaration.from_spec(PHONE_CHANGE)) == []


def test_the_diagram_draws_every_state_and_trigger() -> None:
    picture = diagram.mermaid(flow=PHONE_CHANGE, lang="en")

    assert "stateDiagram-v2" in picture
    for label in ("Entering the request", "Waiting for the OTP", "Phone changed", "Continue"):
        assert label in picture
