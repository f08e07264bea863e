"""The generated docs match the declaration, and the `diagram` and `docs` commands work."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from regflow import ERRORS, State, diagram, open_stores
from regflow._cli import main
from regflow.engine import codec as json_codec
from regflow.machine import STATE_LABELS, TRANSITIONS, TRIGGER_LABELS
from regflow.testing import FakePorts

from .test_diagram import needs_dot, travelled

if TYPE_CHECKING:
    import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
GENERATED = ("flow.md", "errors.md")


def test_the_committed_docs_are_what_the_declaration_generates(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main(["docs", "build", "--check", "--docs-dir", str(DOCS)])

    assert status == 0, capsys.readouterr().out + "\nrun `regflow docs build` and commit it"


def test_check_fails_on_a_stale_page_and_build_repairs_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in GENERATED:
        shutil.copy(DOCS / name, tmp_path / name)
    flow = tmp_path / "flow.md"
    flow.write_text(flow.read_text(encoding="utf-8").replace("otp_expired", "otp_late"))

    assert main(["docs", "build", "--check", "--docs-dir", str(tmp_path)]) == 1
    assert "flow.md: differs" in capsys.readouterr().out
    assert main(["docs", "build", "--docs-dir", str(tmp_path)]) == 0
    assert main(["docs", "build", "--check", "--docs-dir", str(tmp_path)]) == 0
    assert flow.read_text(encoding="utf-8") == (DOCS / "flow.md").read_text(encoding="utf-8")


def test_the_flow_page_lists_every_state_trigger_guard_and_code_in_vi_and_en() -> None:
    page = (DOCS / "flow.md").read_text(encoding="utf-8")
    rows = page.splitlines()

    assert "```mermaid" in page
    for state in State:
        label = STATE_LABELS[state]
        assert any(f"`{state.value}`" in r and label.vi in r and label.en in r for r in rows)
    for trigger, label in TRIGGER_LABELS.items():
        assert f"| `{trigger}` | {label.vi} | {label.en} |" in page
    for transition in TRANSITIONS:
        for guard in transition.get("conditions", []):
            assert f"| `{guard.name}` | {guard.description.vi} | {guard.description.en} |" in page
            for code in guard.codes:
                spec = ERRORS[code]
                assert f"| `{code}` | {spec.message.vi} | {spec.message.en} |" in page


def test_the_error_page_lists_every_code_with_both_messages() -> None:
    page = (DOCS / "errors.md").read_text(encoding="utf-8")

    for code, spec in ERRORS.items():
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
    saved.write_text(json_codec.dumps(snapshot), encoding="utf-8")
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
