"""`regflow.diagram`: every state, edge and guard of the declaration, in vi and en, per flow."""

from __future__ import annotations

import os
import re
import shutil
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from regflow import ChooseMethod, ConfirmOtp, Engine, FlowSnapshot, ResendOtp, State, diagram
from regflow.declare import EXPIRE, HostHook, Rule
from regflow.flows.recovery import PASSWORD_RECOVERY, RecoveryContext, RecoveryState
from regflow.machine import BHXH_REGISTRATION, TERMINAL, TRANSITIONS
from regflow.testing import FakePorts, form_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz's dot is not installed (CI installs it)",
)


STATE_LABELS = {state: info.label for state, info in BHXH_REGISTRATION.states.items()}
TRIGGER_LABELS = BHXH_REGISTRATION.trigger_labels()


def declared() -> Iterator[tuple[State, State | None, str, list[str]]]:
    """(source, dest, trigger, guard names) for every transition and source declared."""
    for transition in TRANSITIONS:
        sources = transition["source"]
        for source in sources if isinstance(sources, list) else [sources]:
            guards = [marked(guard) for guard in transition.get("conditions", [])]
            yield source, transition["dest"], transition["trigger"], guards


def marked(guard: Rule) -> str:
    """A guard's name as the diagram writes it: a host hook's marked ⚑."""
    return f"⚑ {guard.name}" if isinstance(guard, HostHook) else guard.name


def bracket(guards: list[str]) -> str:
    return f" [{' & '.join(guards)}]" if guards else ""


def travelled(engine: Engine, ports: FakePorts) -> FlowSnapshot:
    """A flow that mismatched once, let its OTP expire and asked for a new one."""
    flow_id = engine.start("bhxh_registration").flow_id
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    engine.send(flow_id, form_for(full_name="Trần Văn Khác"))
    engine.send(flow_id, form_for())
    engine.send(flow_id, ConfirmOtp("000000"))  # refused: stays, not on the path
    ports.clock.advance(minutes=6)
    engine.send(flow_id, ConfirmOtp(ports.sms.last_code()))
    engine.send(flow_id, ResendOtp())
    snapshot = ports.flows.load(flow_id)
    assert snapshot is not None
    return snapshot


# --- the declaration ------------------------------------------------------------------------


def test_every_state_and_trigger_has_vi_and_en_labels() -> None:
    assert set(STATE_LABELS) == set(State)
    assert {trigger for _, _, trigger, _ in declared()} <= set(TRIGGER_LABELS)
    for label in [*STATE_LABELS.values(), *TRIGGER_LABELS.values()]:
        assert label.vi
        assert label.en
        assert label.vi != label.en


# --- Mermaid --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_mermaid_draws_every_state_edge_and_guard(lang: diagram.Lang) -> None:
    lines = set(diagram.mermaid(lang=lang).splitlines())

    assert "stateDiagram-v2" in lines
    for state in State:
        assert f'    state "{STATE_LABELS[state].in_language(lang)}" as {state.value}' in lines
    for source, dest, trigger, guards in declared():
        label = TRIGGER_LABELS[trigger].in_language(lang) + bracket(guards)
        if dest is None:
            assert f"    {source.value} : ✗ {label}" in lines
        elif trigger == EXPIRE:  # every running state meets in one choice mark
            assert f"    {source.value} --> {dest.value}_due" in lines
            assert f"    {dest.value}_due --> {dest.value} : {label}" in lines
        else:
            assert f"    {source.value} --> {dest.value} : {label}" in lines


def test_mermaid_marks_the_start_and_every_terminal_state() -> None:
    text = diagram.mermaid()
    lines = text.splitlines()

    assert "    [*] --> choosing_method" in lines
    for state in TERMINAL:
        assert f"    {state.value} --> [*]" in lines
    terminal_class = next(line for line in lines if line.endswith(" terminal"))
    assert set(terminal_class.split()[1].split(",")) == {s.value for s in TERMINAL}


def test_mermaid_guard_names_stay_the_rules_names_in_both_languages() -> None:
    vi, en = diagram.mermaid(lang="vi"), diagram.mermaid(lang="en")

    for name in ("data_mismatch", "account_exists", "otp_expired", "too_many_attempts"):
        assert f"[{name}]" in vi
        assert f"[{name}]" in en
    assert "Nhập thông tin BHXH" in vi
    assert "Nhập thông tin BHXH" not in en
    assert "Filling in the BHXH form" in en


# --- DOT ------------------------------------------------------------------------------------


def dot_edges(text: str) -> dict[tuple[str, str], str]:
    """(source, dest) -> the edge's attribute list, from DOT text."""
    edges = re.findall(r"^\s+(\w+) -> (\w+) \[(.*)\]$", text, flags=re.MULTILINE)
    return {(source, dest): attributes for source, dest, attributes in edges}


def test_dot_draws_every_moving_edge_with_its_guards() -> None:
    text = diagram.dot(lang="en")
    edges = dot_edges(text)

    for source, dest, trigger, guards in declared():
        if dest is None or trigger == EXPIRE:
            continue
        label = edges[source.value, dest.value]
        assert TRIGGER_LABELS[trigger].en in label
        for guard in guards:
            assert f"[{guard}]" in label


def test_dot_draws_the_lifetime_once_from_the_cluster_of_running_states() -> None:
    text = diagram.dot(lang="en")
    cluster = text[text.index("subgraph cluster_running {") : text.index("    }")]
    expiring = {source for source, _, trigger, _ in declared() if trigger == EXPIRE}

    for state in State:
        assert (f"        {state.value} [" in cluster) == (state in expiring)
    lifetime = [a for a in dot_edges(text).values() if "ltail=cluster_running" in a]
    assert len(lifetime) == 1
    assert "[flow_expired]" in lifetime[0].replace("\\n", " ")


def test_dot_lists_refusals_inside_their_state_and_doubles_terminal_borders() -> None:
    text = diagram.dot(lang="en")
    nodes = dict(re.findall(r"^\s+(\w+) \[label=<(.*)$", text, flags=re.MULTILINE))

    for source, dest, trigger, guards in declared():
        if dest is None:
            assert f"✗ {TRIGGER_LABELS[trigger].en}{bracket(guards)}" in nodes[source.value]
    for state in State:
        assert ("peripheries=2" in nodes[state.value]) == (state in TERMINAL)


# --- one flow -------------------------------------------------------------------------------


def test_the_snapshot_remembers_the_states_a_flow_entered(engine: Engine, ports: FakePorts) -> None:
    snapshot = travelled(engine, ports)

    assert snapshot.path == (
        State.FILLING_FORM,
        State.DATA_MISMATCH,
        State.OTP_PENDING,
        State.OTP_EXPIRED,
        State.OTP_PENDING,
    )


def test_mermaid_of_a_flow_marks_visited_states_current_state_and_taken_edges(
    engine: Engine, ports: FakePorts
) -> None:
    lines = diagram.mermaid(lang="en", snapshot=travelled(engine, ports)).splitlines()

    assert "    class otp_pending current" in lines
    visited = next(line for line in lines if line.endswith(" visited")).split()[1]
    assert set(visited.split(",")) == {
        "choosing_method",
        "filling_form",
        "data_mismatch",
        "otp_expired",
    }
    taken = {tuple(line.split()[0:3:2]) for line in lines if ": ✔ " in line}
    assert taken == {
        ("choosing_method", "filling_form"),
        ("filling_form", "data_mismatch"),
        ("data_mismatch", "otp_pending"),
        ("otp_pending", "otp_expired"),
        ("otp_expired", "otp_pending"),
    }


def test_dot_of_a_flow_highlights_the_path_and_the_current_state(
    engine: Engine, ports: FakePorts
) -> None:
    text = diagram.dot(snapshot=travelled(engine, ports))
    edges = dot_edges(text)

    assert "penwidth=2.5" in edges["data_mismatch", "otp_pending"]
    assert "penwidth=2.5" not in edges["filling_form", "otp_pending"]
    assert re.search(r"otp_pending \[label=.*#b91c1c.* penwidth=3", text)
    assert not re.search(r"setting_password \[label=.*#b91c1c", text)


def test_a_flow_that_expired_shows_the_state_it_expired_in(
    engine: Engine, ports: FakePorts
) -> None:
    flow_id = engine.start("bhxh_registration").flow_id
    ports.clock.advance(hours=1)
    engine.send(flow_id, ChooseMethod("citizen", "bhxh"))
    snapshot = ports.flows.load(flow_id)
    assert snapshot is not None

    edges = dot_edges(diagram.dot(snapshot=snapshot))

    assert snapshot.path == (State.EXPIRED,)
    assert "penwidth=2.5" in edges["choosing_method", "expired"]


# --- any flow -------------------------------------------------------------------------------


def recovered() -> FlowSnapshot:
    """A password recovery whose code expired and which is waiting for a new one."""
    begun = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    return FlowSnapshot(
        flow_id="recovery-1",
        flow=PASSWORD_RECOVERY.name,
        flow_version=PASSWORD_RECOVERY.version,
        version=3,
        state=RecoveryState.OTP_PENDING,
        created_at=begun,
        expires_at=begun + timedelta(minutes=30),
        updated_at=begun + timedelta(minutes=7),
        path=(RecoveryState.OTP_PENDING, RecoveryState.OTP_EXPIRED, RecoveryState.OTP_PENDING),
        context=RecoveryContext(),
    )


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_another_flow_is_drawn_from_its_own_declaration(lang: diagram.Lang) -> None:
    text = diagram.mermaid(PASSWORD_RECOVERY, lang=lang)
    lines = set(text.splitlines())

    assert f"title: {PASSWORD_RECOVERY.title.in_language(lang)}" in lines
    assert f"    [*] --> {PASSWORD_RECOVERY.initial.value}" in lines
    for state, info in PASSWORD_RECOVERY.states.items():
        assert f'    state "{info.label.in_language(lang)}" as {state.value}' in lines
    for state in PASSWORD_RECOVERY.terminal:
        assert f"    {state.value} --> [*]" in lines
    assert "choosing_method" not in text
    dot = diagram.dot(PASSWORD_RECOVERY, lang=lang)
    assert f'label="{PASSWORD_RECOVERY.title.in_language(lang)}"' in dot
    assert f"__start__ -> {PASSWORD_RECOVERY.initial.value}" in dot


def test_the_default_flow_is_the_bhxh_registration() -> None:
    assert diagram.mermaid() == diagram.mermaid(BHXH_REGISTRATION)
    assert f"title: {BHXH_REGISTRATION.title.vi}" in diagram.mermaid().splitlines()
    assert diagram.render(PASSWORD_RECOVERY, "dot") == diagram.dot(PASSWORD_RECOVERY).encode()


def test_labels_come_from_the_flow_named_or_fall_back_to_the_code() -> None:
    pending = RecoveryState.ENTERING_LOGIN

    assert diagram.state_label(pending, "en", PASSWORD_RECOVERY) == (
        PASSWORD_RECOVERY.states[pending].label.en
    )
    assert diagram.state_label(pending, "en") == "entering_login"  # not a registration state
    assert diagram.trigger_label("submit_login", "vi", flow=PASSWORD_RECOVERY) == (
        PASSWORD_RECOVERY.events["submit_login"].label.vi
    )
    assert diagram.trigger_label("submit_login", "vi") == "submit_login"
    assert diagram.trigger_label(EXPIRE, "en", PASSWORD_RECOVERY) == TRIGGER_LABELS[EXPIRE].en


def test_a_snapshot_of_another_flow_is_drawn_with_its_way() -> None:
    lines = diagram.mermaid(PASSWORD_RECOVERY, lang="en", snapshot=recovered()).splitlines()

    assert "    class otp_pending current" in lines
    assert "    class entering_login,otp_expired visited" in lines
    taken = {tuple(line.split()[0:3:2]) for line in lines if ": ✔ " in line}
    assert taken == {
        ("entering_login", "otp_pending"),
        ("otp_pending", "otp_expired"),
        ("otp_expired", "otp_pending"),
    }


# --- SVG and PNG ----------------------------------------------------------------------------


@needs_dot
def test_svg_shows_every_state_by_its_label() -> None:
    svg = diagram.render(fmt="svg", lang="vi").decode()

    assert svg.lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE"))
    for state in State:
        assert STATE_LABELS[state].vi in svg
    assert "[account_exists]" in svg


@needs_dot
def test_png_is_a_png(engine: Engine, ports: FakePorts) -> None:
    png = diagram.render(fmt="png", lang="en", snapshot=travelled(engine, ports))

    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_text_formats_render_to_their_text() -> None:
    assert diagram.render(fmt="mermaid", lang="en").decode() == diagram.mermaid(lang="en")
    assert diagram.render(fmt="dot").decode() == diagram.dot()


def test_without_the_graphviz_package_the_error_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)

    with pytest.raises(diagram.DiagramToolMissingError, match=r"regflow\[diagrams\]"):
        diagram.render(fmt="svg")


def test_without_the_dot_program_the_error_names_graphviz(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(diagram.DiagramToolMissingError, match=r"'dot' program.*graphviz"):
        diagram.render(fmt="png")
