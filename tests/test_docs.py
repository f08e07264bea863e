"""The generated docs match the declaration, and the `diagram` and `docs` commands work."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regflow import State, diagram, open_stores
from regflow._shipped import SHIPPED_FLOWS
from regflow.engine import codec
from regflow.engine._compile import catalogue
from regflow.flows.recovery import PASSWORD_RECOVERY
from regflow.machine import BHXH_REGISTRATION
from regflow.testing import FakePorts
from regflow.tools._cli import main
from regflow.tools._docs import build

from .broken_machines import BROKEN_HOST_FLOW, HOST_FLOW
from .test_diagram import STATE_LABELS, needs_dot, recovered, travelled

if TYPE_CHECKING:
    from regflow.declare import FlowSpec

DOCS = Path(__file__).resolve().parents[1] / "docs"
FLOW_PAGES = {spec.name: f"flows/{spec.name}.md" for spec in SHIPPED_FLOWS}
GENERATED = ("flow.md", "errors.md", *FLOW_PAGES.values())
HOST = "tests.broken_machines:HOST_FLOWS"


def test_the_committed_docs_are_what_the_declaration_generates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["docs", "build", "--check", "--docs-dir", str(DOCS)])

    assert status == 0, capsys.readouterr().out + "\nrun `regflow docs build` and commit it"


def test_check_fails_on_a_stale_page_and_build_repairs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in GENERATED:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        shutil.copy(DOCS / name, tmp_path / name)
    flow = tmp_path / FLOW_PAGES["bhxh_registration"]
    flow.write_text(flow.read_text(encoding="utf-8").replace("otp_expired", "otp_late"))

    assert main(["docs", "build", "--check", "--docs-dir", str(tmp_path)]) == 1
    assert "bhxh_registration.md: differs" in capsys.readouterr().out
    assert main(["docs", "build", "--docs-dir", str(tmp_path)]) == 0
    assert main(["docs", "build", "--check", "--docs-dir", str(tmp_path)]) == 0
    committed = DOCS / FLOW_PAGES["bhxh_registration"]
    assert flow.read_text(encoding="utf-8") == committed.read_text(encoding="utf-8")


def assert_documents(page: str, spec: FlowSpec) -> None:
    """`page` has the flow's diagrams and every state, trigger, guard and code in vi and en."""
    rows = page.splitlines()
    codes = catalogue([spec])
    assert diagram.mermaid(spec, lang="vi") in page
    assert diagram.mermaid(spec, lang="en") in page
    for state, info in spec.states.items():
        label = info.label
        assert any(f"`{state.value}`" in r and label.vi in r and label.en in r for r in rows)
    for trigger, label in spec.trigger_labels().items():
        assert f"| `{trigger}` | {label.vi} | {label.en} |" in page
    for transition in spec.transitions:
        for guard in transition.get("conditions", []):
            assert f"| `{guard.name}` | {guard.description.vi} | {guard.description.en} |" in page
            for code in guard.codes:
                error = codes[code]
                assert f"| `{code}` | {error.message.vi} | {error.message.en} |" in page
    for error in spec.errors:
        assert f"| `{error.code}` | {error.message.vi} | {error.message.en} |" in page


def test_every_shipped_flow_has_its_page_listing_its_states_triggers_guards_and_codes() -> None:
    for spec in SHIPPED_FLOWS:
        assert_documents((DOCS / FLOW_PAGES[spec.name]).read_text(encoding="utf-8"), spec)


def test_the_flows_page_links_every_flow_and_keeps_the_rules_limits() -> None:
    page = (DOCS / "flow.md").read_text(encoding="utf-8")

    for spec in SHIPPED_FLOWS:
        assert f"| [`{spec.name}`]({FLOW_PAGES[spec.name]}) | {spec.title.vi} |" in page
    for heading in ("### Names", "### Phone", "### Date of birth", "### Password", "### Time"):
        assert f"\n{heading}\n" in page  # docs elsewhere link flow.md#phone and the like


def test_the_error_page_lists_every_code_with_both_messages() -> None:
    page = (DOCS / "errors.md").read_text(encoding="utf-8")

    for code, spec in catalogue(SHIPPED_FLOWS).items():
        section = page[page.index(f"## `{code}`") :]
        assert f"- **Tiếng Việt:** {spec.message.vi}\n" in section
        assert f"- **English:** {spec.message.en}\n" in section


def test_diagram_command_prints_the_mermaid_of_the_flow(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["diagram", "--lang", "en"]) == 0

    assert capsys.readouterr().out == diagram.mermaid(lang="en")


def test_diagram_command_draws_one_flow_from_its_snapshot_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ports = FakePorts.seeded()
    snapshot = travelled(ports.engine(), ports)
    saved = tmp_path / "flow.json"
    saved.write_text(codec.dumps(snapshot), encoding="utf-8")
    capsys.readouterr()  # the walk's log lines

    status = main(["diagram", "--format", "dot", "--snapshot", str(saved)])

    assert status == 0
    assert capsys.readouterr().out == diagram.dot(snapshot=snapshot)


@needs_dot
def test_diagram_command_writes_an_image_file(tmp_path: Path) -> None:
    image = tmp_path / "flow.svg"

    assert main(["diagram", "--format", "svg", "--output", str(image)]) == 0
    assert STATE_LABELS[State.OTP_PENDING].vi in image.read_text(encoding="utf-8")


def test_diagram_command_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "")

    status = main(["diagram", "--format", "png"])

    assert status == 2
    assert "install" in capsys.readouterr().err


def test_diagram_command_reports_an_unreadable_snapshot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "flow.json"
    broken.write_text('{"flow_id": "x"}', encoding="utf-8")

    status = main(["diagram", "--snapshot", str(broken)])

    assert status == 2
    assert "cannot read the snapshot" in capsys.readouterr().err


def test_diagram_command_draws_a_stored_flow_by_its_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "flows.sqlite3"
    stores = open_stores(database)
    ports = FakePorts.seeded()
    ports.users, ports.flows = stores.users, stores.flows  # type: ignore[assignment]
    snapshot = travelled(ports.engine(), ports)
    capsys.readouterr()

    status = main(
        ["diagram", "--format", "dot", "--flow-id", snapshot.flow_id, "--database", str(database)]
    )

    assert status == 0
    assert capsys.readouterr().out == diagram.dot(snapshot=snapshot)
    assert main(["diagram", "--flow-id", "nope", "--database", str(database)]) == 2
    assert "no flow 'nope'" in capsys.readouterr().err


def test_a_flow_id_that_begins_with_a_dash_is_read_as_the_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One `secrets.token_urlsafe` id in 64 begins with ``-``: the support desk pastes it
    after ``--flow-id`` and gets that flow, not an argparse error."""
    database = tmp_path / "flows.sqlite3"
    open_stores(database)

    assert main(["diagram", "--flow-id", "-AbC_dEf", "--database", str(database)]) == 2
    assert "no flow '-AbC_dEf'" in capsys.readouterr().err


def test_the_error_page_names_who_reports_each_code() -> None:
    page = (DOCS / "errors.md").read_text(encoding="utf-8")
    expired = page[page.index("## `flow.expired`") :]
    expired = expired[: expired.index("\n## ")]

    assert "state `expired` of `bhxh_registration`" in expired
    assert "state `expired` of `password_recovery`" in expired
    assert "rule `flow_expired`" in expired
    assert expired.count("rule `flow_expired`") == 1  # both flows use it: named once


# --- a host's flows -----------------------------------------------------------------------------


def test_a_host_builds_the_pages_of_its_own_flows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["docs", "build", "--docs-dir", str(tmp_path), "--flows", HOST, "--no-shipped"])

    assert status == 0
    assert sorted(p.name for p in (tmp_path / "flows").iterdir()) == [
        "broken_host_recovery.md",
        "host_recovery.md",
    ]
    assert_documents((tmp_path / "flows/host_recovery.md").read_text(encoding="utf-8"), HOST_FLOW)
    broken = (tmp_path / "flows/broken_host_recovery.md").read_text(encoding="utf-8")
    assert "| 1 | `submit_login` | `entering_login` | `<unnamed>` | stays (refused) |" in broken
    every_state = ", ".join(f"`{state.value}`" for state in BROKEN_HOST_FLOW.states)
    assert f"| `submit_login` | {every_state} | `unknown_code` | stays (refused) |" in broken
    assert "✗ Tiếp tục (gửi tên đăng nhập) [<unnamed>]" in broken  # the diagram names it too
    codes = broken[broken.index("## Error codes of the flow") :]
    assert "portal.not_catalogued" not in codes  # no message to show: `regflow check` says so
    errors = (tmp_path / "errors.md").read_text(encoding="utf-8")
    assert "## `host.closed`" in errors
    assert "host_recovery" in (tmp_path / "flow.md").read_text(encoding="utf-8")
    assert "bhxh_registration" not in (tmp_path / "flow.md").read_text(encoding="utf-8")
    assert "flows/host_recovery.md: written" in capsys.readouterr().out


def test_the_api_builds_pages_for_the_flows_it_is_given(tmp_path: Path) -> None:
    assert build(tmp_path, flows=[PASSWORD_RECOVERY]) == [
        "flow.md",
        "flows/password_recovery.md",
        "errors.md",
    ]
    assert build(tmp_path, flows=[PASSWORD_RECOVERY], check=True) == []
    assert build(tmp_path, check=True) == [
        "flow.md",
        "flows/bhxh_registration.md",
        "flows/vneid_registration.md",
        "errors.md",
    ]


def test_docs_build_reports_flows_it_cannot_load(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs", "build", "--flows", "tests.broken_machines:NOT_FLOWS"]) == 2
    assert "cannot load tests.broken_machines:NOT_FLOWS" in capsys.readouterr().err


# --- regflow flows --------------------------------------------------------------------------


def listed(out: str) -> dict[str, list[str]]:
    return {line.split("\t")[0]: line.split("\t")[1:] for line in out.splitlines()}


def test_flows_lists_the_shipped_flows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows"]) == 0

    rows = listed(capsys.readouterr().out)
    assert list(rows) == ["bhxh_registration", "password_recovery", "vneid_registration"]
    assert rows["password_recovery"] == [
        f"v{PASSWORD_RECOVERY.version}",
        f"{len(PASSWORD_RECOVERY.states)} states",
        f"{PASSWORD_RECOVERY.title.vi} / {PASSWORD_RECOVERY.title.en}",
    ]


def test_flows_adds_a_hosts_flows_or_lists_only_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flows", "--flows", f"{HOST},regflow.machine:BHXH_REGISTRATION"]) == 0
    assert list(listed(capsys.readouterr().out)) == [
        "bhxh_registration",
        "password_recovery",
        "vneid_registration",
        "host_recovery",
        "broken_host_recovery",
    ]
    assert main(["flows", "--flows", "tests.broken_machines:HOST_FLOW", "--no-shipped"]) == 0
    assert list(listed(capsys.readouterr().out)) == ["host_recovery"]


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("tests.broken_machines:NOT_FLOWS", "neither a FlowSpec"),
        ("tests.broken_machines", "module:ATTRIBUTE"),
        ("tests.broken_machines:NOWHERE", "NOWHERE"),
        ("tests.no_such_module:FLOWS", "no_such_module"),
    ],
)
def test_flows_reports_what_it_cannot_load(
    target: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flows", "--flows", target]) == 2
    assert why in capsys.readouterr().err


# --- regflow diagram --flow -----------------------------------------------------------------


def test_diagram_draws_the_flow_named(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "--flow", "password_recovery", "--format", "dot"]) == 0
    assert capsys.readouterr().out == diagram.dot(PASSWORD_RECOVERY)

    assert main(["diagram", "--flow", "host_recovery", "--flows", HOST, "--lang", "en"]) == 0
    assert capsys.readouterr().out == diagram.mermaid(HOST_FLOW, lang="en")


def test_diagram_refuses_a_flow_it_does_not_know(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "--flow", "nope"]) == 2
    assert "cannot read the flow nope: no flow 'nope'" in capsys.readouterr().err
    assert main(["diagram", "--flows", "tests.broken_machines:NOT_FLOWS"]) == 2
    assert "cannot load" in capsys.readouterr().err


def test_diagram_draws_a_snapshot_with_the_flow_it_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "recovery.json"
    saved.write_text(codec.dumps(recovered()), encoding="utf-8")

    assert main(["diagram", "--snapshot", str(saved)]) == 0
    assert capsys.readouterr().out == diagram.mermaid(PASSWORD_RECOVERY, snapshot=recovered())
    assert main(["diagram", "--snapshot", str(saved), "--flow", "password_recovery"]) == 0
    capsys.readouterr()


def test_diagram_refuses_a_snapshot_of_another_or_an_unknown_flow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "recovery.json"
    saved.write_text(codec.dumps(recovered()), encoding="utf-8")

    assert main(["diagram", "--snapshot", str(saved), "--flow", BHXH_REGISTRATION.name]) == 2
    assert "it is a password_recovery flow, not bhxh_registration" in capsys.readouterr().err
    assert main(["diagram", "--snapshot", str(saved), "--flows", HOST, "--no-shipped"]) == 2
    assert "its flow 'password_recovery' is not one of host_recovery" in capsys.readouterr().err
