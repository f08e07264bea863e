"""docs/testing.md, run: its host portal, conftest and tests, as a project of their own (every
Python block of the page is one of its files)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

DOC = Path(__file__).parent.parent / "docs" / "testing.md"
BLOCK = re.compile(r"```(?:python|toml)\n# (\S+)( \(continued\))?\n(.*?)```", re.DOTALL)


def project_files() -> dict[str, str]:
    """Code blocks whose first line names a file; "(continued)" appends to the file."""
    files: dict[str, str] = {}
    for path, continued, body in BLOCK.findall(DOC.read_text(encoding="utf-8")):
        files[path] = files.get(path, "") + body if continued else body
    return files


def test_the_doc_names_the_files_of_its_example() -> None:
    assert set(project_files()) == {
        "myportal/machine.py",
        "pyproject.toml",
        "tests/conftest.py",
        "tests/test_paths.py",
        "tests/test_portal.py",
        "tests/test_rules.py",
    }


def test_every_python_block_of_the_doc_is_a_file_of_its_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text.count("```python\n") == len(BLOCK.findall(text)) - text.count("```toml\n")


def test_the_docs_host_app_passes_its_paths_at_full_coverage(pytester: pytest.Pytester) -> None:
    for path, text in project_files().items():
        pytester.path.joinpath(path).parent.mkdir(parents=True, exist_ok=True)
        pytester.path.joinpath(path).write_text(text, encoding="utf-8")
    pytester.path.joinpath("myportal/__init__.py").write_text("", encoding="utf-8")
    pytester.syspathinsert()

    result = pytester.runpytest("-p", "no:cacheprovider")

    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    out = result.stdout.str()
    assert "regflow transition coverage of bhxh_registration: 48/48 transitions (100.0 %)" in out
    assert "password_recovery" not in out  # the portal configures its own flow only
    assert "too_young" not in out  # listed only when missed
