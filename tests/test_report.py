"""`regflow report` against simulated traffic whose answers are known (`regflow simulate`):
the figures it reads from the audit logs are the ones the simulation counted, and within
sampling error of the proportions it was given."""

from __future__ import annotations

import gzip
import json
import math
import re
import shlex
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from regflow import BHXH_REGISTRATION, SHIPPED_FLOWS
from regflow.diagram import Traffic, dot
from regflow.testing import Crowd, simulate
from regflow.tools._cli import main
from regflow.tools._report import IN_PROGRESS, abandoned, markdown, read_report

if TYPE_CHECKING:
    from regflow.testing import Truth
    from regflow.tools._report import Report

ROOT = Path(__file__).resolve().parents[1]
FLOWS = {spec.name: spec for spec in SHIPPED_FLOWS}
CROWD = Crowd(
    citizens=1_600,
    mismatch_rate=0.2,
    wrong_otp_rate=0.15,
    abandon={"filling_form": 0.1, "data_mismatch": 0.4, "otp_pending": 0.05},
    versions=(1, 2),
    servers=3,
    seed=7,
)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Truth, Report]:
    truth = simulate(CROWD, tmp_path_factory.mktemp("logs"))
    return truth, read_report(truth.logs, FLOWS, as_of=truth.as_of)


def _within_sampling_error(count: int, trials: int, share: float) -> bool:
    """`count` of `trials` is a plausible draw at `share` (five standard deviations)."""
    return abs(count - trials * share) <= 5 * math.sqrt(trials * share * (1 - share)) + 1


def test_the_report_counts_what_the_simulated_citizens_did(
    simulated: tuple[Truth, Report],
) -> None:
    truth, report = simulated
    assert set(report.figures) == {("bhxh_registration", 1), ("bhxh_registration", 2)}
    for version in CROWD.versions:
        figures = report.figures["bhxh_registration", version]
        assert figures.started == truth.started[version] == CROWD.citizens // 2
        assert figures.outcomes == truth.outcomes[version]
        assert figures.entries["data_mismatch"] == truth.mismatches[version]
        assert figures.errors["filling_form"]["bhxh.data_mismatch"] == truth.mismatches[version]
        assert figures.errors["otp_pending"]["otp.invalid"] == truth.wrong_codes[version]


def test_the_figures_match_the_proportions_within_sampling_error(
    simulated: tuple[Truth, Report],
) -> None:
    _, report = simulated
    for version in CROWD.versions:
        figures = report.figures["bhxh_registration", version]
        started, entries = figures.started, figures.entries
        assert _within_sampling_error(figures.outcomes[abandoned("filling_form")], started, 0.1)
        assert _within_sampling_error(
            entries["data_mismatch"],
            entries["filling_form"] - figures.outcomes[abandoned("filling_form")],
            0.2,
        )
        left = figures.outcomes[abandoned("data_mismatch")]
        assert _within_sampling_error(left, entries["data_mismatch"], 0.4)
        wrong = figures.errors["otp_pending"]["otp.invalid"]
        assert _within_sampling_error(wrong, entries["otp_pending"], 0.15)
        assert IN_PROGRESS not in figures.outcomes


def test_time_in_each_state_is_the_delay_the_citizens_took(
    simulated: tuple[Truth, Report],
) -> None:
    """Uniform delays: the median is the range's middle, the 90th percentile 90 % along."""
    _, report = simulated
    figures = report.figures["bhxh_registration", 1]
    for state in ("choosing_method", "filling_form", "setting_password"):
        low, high = CROWD.delays[state]
        assert _close(figures.quantile(state, 0.5), low + 0.5 * (high - low), high - low)
        assert _close(figures.quantile(state, 0.9), low + 0.9 * (high - low), high - low)


def _close(found: int | None, expected: float, spread: int) -> bool:
    return found is not None and abs(found - expected) <= 0.05 * spread + 1


def test_the_logs_interleave_servers_and_versions(simulated: tuple[Truth, Report]) -> None:
    """What the report had to merge: one flow's lines in several files, both versions in
    each file."""
    truth, _ = simulated
    files_of: dict[str, set[str]] = {}
    versions_in: dict[str, set[int]] = {}
    for path in truth.logs:
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            if "flow_version" in event:
                files_of.setdefault(event["flow_id"], set()).add(path.name)
                versions_in.setdefault(path.name, set()).add(event["flow_version"])
    assert sum(len(files) > 1 for files in files_of.values()) > CROWD.citizens / 2
    assert all(versions == {1, 2} for versions in versions_in.values())


def _write(path: Path, *events: dict[str, object]) -> Path:
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    return path


def _move(flow_id: str, source: str, dest: str, at: str, **fields: object) -> dict[str, object]:
    return {
        "event": "flow.transition",
        "flow_id": flow_id,
        "flow": "bhxh_registration",
        "flow_version": 1,
        "trigger": "t",
        "source": source,
        "dest": dest,
        "errors": [],
        "at": f"2026-01-01T{at}+00:00",
        **fields,
    }


def test_lines_that_are_no_audit_event_are_skipped_and_gzip_is_read(tmp_path: Path) -> None:
    plain = tmp_path / "a.jsonl"
    plain.write_text(
        'not json "flow.transition"\n[1, "flow.started"]\n'
        + json.dumps({"event": "flow.started", "flow_id": "b", "at": "2026-01-01T08:00:00Z"})
        + "\n"
        + json.dumps({**_move("c", "a", "b", "08:00:00"), "at": "soon"})
        + "\n"
        + json.dumps({**_move("d", "a", "b", "08:00:00"), "source": ["a"]})
        + "\n"
        + json.dumps({"event": "flow.port_failed", "port": "sms"})
        + "\n"
        + json.dumps(_move("a", "otp_pending", "setting_password", "08:00:00"))
        + "\n",
        encoding="utf-8",
    )
    zipped = tmp_path / "b.jsonl.gz"
    with gzip.open(zipped, "wt", encoding="utf-8") as file:
        file.write(json.dumps(_move("a", "setting_password", "completed", "08:01:00")) + "\n")

    report = read_report([plain, zipped], FLOWS)

    figures = report.figures["bhxh_registration", 1]
    assert report.lines == 2
    assert figures.outcomes == Counter({"completed": 1})
    # Begun before the log: its time in otp_pending is unknown, its time after is not.
    assert figures.quantile("otp_pending", 0.5) is None
    assert figures.quantile("setting_password", 0.5) == 60


def test_a_flow_heard_of_lately_is_in_progress_not_abandoned(tmp_path: Path) -> None:
    log = _write(
        tmp_path / "a.jsonl",
        _move("old", "choosing_method", "filling_form", "08:00:00"),
        _move("new", "choosing_method", "filling_form", "08:40:00", errors=["x.y"]),
        _move("new", "filling_form", "filling_form", "08:41:00", errors=["form.invalid"]),
    )

    figures = read_report([log], FLOWS).figures["bhxh_registration", 1]
    later = read_report([log], FLOWS, as_of=datetime.fromisoformat("2026-01-01T10:00:00+00:00"))

    assert figures.outcomes == Counter({abandoned("filling_form"): 1, IN_PROGRESS: 1})
    assert figures.errors == {"choosing_method": {"x.y": 1}, "filling_form": {"form.invalid": 1}}
    assert later.figures["bhxh_registration", 1].outcomes == {abandoned("filling_form"): 2}


def test_a_flow_no_process_runs_is_counted_without_a_diagram(tmp_path: Path) -> None:
    log = _write(tmp_path / "a.jsonl", {**_move("a", "one", "two", "08:00:00"), "flow": "host"})

    report = read_report([log], FLOWS)

    assert report.figures["host", 1].edges == {("one", "two", "t", None): 1}
    assert "## host v1" in markdown(report, FLOWS)


def test_the_diagram_draws_each_arrow_by_its_traffic() -> None:
    traffic = Traffic(
        edges={
            ("choosing_method", "filling_form", "choose_method", None): 200,
            ("filling_form", "otp_pending", "submit_form", None): 30,
            ("filling_form", "otp_pending", "submit_form", "bhxh_number_probed"): 20,
            ("otp_pending", "otp_pending", "confirm_otp", "otp_wrong"): 7,
        },
        entries={"choosing_method": 200, "filling_form": 200},
    )

    text = dot(BHXH_REGISTRATION, lang="en", traffic=traffic)

    assert "Choosing the method · 200" in text
    busiest = next(line for line in text.splitlines() if "choosing_method -> filling_form" in line)
    assert "200 (100%)" in busiest
    assert "penwidth=9.0" in busiest
    lines = text.splitlines()
    assert "penwidth=3.0" in next(line for line in lines if "filling_form -> otp_pending" in line)
    assert "[otp_wrong] × 7" in text
    assert "[otp_expired] ×" not in text
    unused = next(line for line in text.splitlines() if "setting_password -> completed" in line)
    assert "style=dotted" in unused
    assert "0\\n" not in busiest


def test_the_command_writes_the_report_and_its_pictures(
    simulated: tuple[Truth, Report], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    truth, _ = simulated
    logs = [str(path) for path in truth.logs]
    as_of = truth.as_of.isoformat() if truth.as_of else ""

    assert main(["report", *logs, "--as-of", as_of, "--out", str(tmp_path)]) == 0

    written = {path.name for path in tmp_path.iterdir()}
    assert written == {
        "report.md",
        "report.html",
        "bhxh_registration-v1.svg",
        "bhxh_registration-v2.svg",
    }
    svg = (tmp_path / "bhxh_registration-v1.svg").read_text(encoding="utf-8")
    assert "(100%)" in svg
    assert "bhxh_registration-v1.svg" in (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "<svg" in (tmp_path / "report.html").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["report", *logs]) == 0
    assert "### Where flows ended" in capsys.readouterr().out


def test_the_command_says_what_it_cannot_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["report", str(tmp_path), "--as-of", "yesterday"]) == 2
    assert main(["report", str(tmp_path), "--bucket", "0"]) == 2
    errors = capsys.readouterr().err
    assert "missing.jsonl" in errors
    assert "--bucket" in errors


def test_simulate_prints_the_report_command_for_its_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "logs"
    arguments = ["simulate", str(out), "--citizens", "20", "--servers", "2"]

    assert main([*arguments, "--abandon", "filling_form=0.5"]) == 0

    command = capsys.readouterr().out.split()
    assert command[:3] == ["regflow", "report", str(out / "server-1.jsonl")]
    assert main(command[1:]) == 0
    assert "| completed |" in capsys.readouterr().out


OBSERVABILITY = ROOT / "docs" / "observability.md"
#: Where the page's commands write; the test writes in its own folder instead.
DOCUMENTED_DIR = "/tmp/funnel"  # noqa: S108 - a folder named on the page, never used here
REPORT_SECTION = re.compile(r"<!-- report -->\n(.*?)<!-- /report -->", re.DOTALL)


def _documented_commands() -> list[list[str]]:
    """The `regflow …` lines of the page's shell block that made its report."""
    text = OBSERVABILITY.read_text(encoding="utf-8")
    block = text[text.index("<!-- /report -->") :]
    block = block[block.index("```sh\n") + 6 : block.index("```", block.index("```sh\n") + 6)]
    return [shlex.split(line)[1:] for line in block.splitlines() if line.startswith("regflow ")]


def test_the_documented_report_and_picture_are_what_the_commands_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    simulated, reported = (
        [part.replace(DOCUMENTED_DIR, str(tmp_path)) for part in command]
        for command in _documented_commands()
    )

    assert main(simulated) == 0
    printed = capsys.readouterr().out.split()
    assert [*printed[1:], "--out", str(tmp_path / "report")] == reported
    assert main(reported) == 0

    made = (tmp_path / "report" / "bhxh_registration-v1.svg").read_bytes()
    assert made == (ROOT / "docs" / "images" / "funnel.svg").read_bytes()
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    section = REPORT_SECTION.search(OBSERVABILITY.read_text(encoding="utf-8"))
    assert section is not None
    assert report[report.index("### Steps") :].rstrip() + "\n" == section.group(1)
