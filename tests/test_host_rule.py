"""A host app's own rule, checked and tested with the plugin like regflow's (docs/testing.md)."""

from __future__ import annotations

import attrs
import pytest

from regflow import ChooseMethod, State, SubmitForm
from regflow.analysis import Declaration, Path, check
from regflow.flows.registration import citizen, valid_form
from regflow.testing import RECIPES, FakePorts, ScenarioRunner, Scene, form_for

from . import host_app

PORTAL = Declaration.from_spec(host_app.PORTAL)


def _child_form(scene: Scene) -> SubmitForm:
    return form_for(scene.citizen, date_of_birth="01/06/2015")


@pytest.fixture
def regflow_runner() -> ScenarioRunner:
    return ScenarioRunner(
        flow=host_app.PORTAL,
        recipes={**RECIPES, ("submit_form", "too_young"): _child_form},
    )


def test_the_portal_flow_passes_the_static_check() -> None:
    assert check(PORTAL) == []


def test_the_check_wants_the_portals_code_documented() -> None:
    without_code = Declaration.from_spec(attrs.evolve(host_app.PORTAL, errors=()))
    assert [(f.kind, f.subject) for f in check(without_code)] == [
        ("guard_undocumented", "too_young"),
        ("guard_undocumented", "too_young"),
    ]


@pytest.mark.regflow_paths("all", flow="tests.host_app:PORTAL")
def test_every_path_of_the_portal_flow(regflow_runner: ScenarioRunner, regflow_path: Path) -> None:
    visited = regflow_runner.run(regflow_path)
    assert visited[-1] is not None
    assert visited[-1] == regflow_path.end


def test_a_child_is_turned_away_with_the_portals_message() -> None:
    ports = FakePorts.seeded()
    engine = ports.engine(host_app.PORTAL)
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))

    view = engine.send(flow_id, form_for(date_of_birth="01/06/2015"))

    assert view.state is State.FILLING_FORM
    assert view.error_codes() == ("portal.too_young",)
    assert view.field_errors("date_of_birth")[0].message.en.startswith("Citizens under 15")
    assert ports.sms.sent == []


def test_the_facts_a_host_rule_reads_keep_their_docs() -> None:
    assert "BHXH record of this flow" in (citizen.__doc__ or "")
    assert "after `form_invalid` failed" in (valid_form.__doc__ or "")
