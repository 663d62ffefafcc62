"""The unit suite's guard (tests/unit/conftest.py) fails a test that leaves the process changed, and puts it back."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")

LEAKS = """
import os, sys

def test_sets_a_variable():
    os.environ["LEAKED_BY_A_TEST"] = "1"

def test_removes_one():
    del os.environ["KEPT_BY_THE_RUN"]

def test_prepends_to_the_path():
    sys.path.insert(0, "/nowhere")

def test_changes_folder(tmp_path):
    os.chdir(tmp_path)

def test_uses_monkeypatch(monkeypatch, tmp_path):
    monkeypatch.setenv("LEAKED_BY_A_TEST", "2")
    monkeypatch.delenv("KEPT_BY_THE_RUN")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)

def test_after_them_all_is_as_before():
    assert "LEAKED_BY_A_TEST" not in os.environ
    assert os.environ["KEPT_BY_THE_RUN"] == "yes"
    assert "/nowhere" not in sys.path
"""


def test_a_test_that_leaves_the_process_changed_fails_and_the_next_finds_it_restored(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEPT_BY_THE_RUN", "yes")
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_leaks=LEAKS)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:lambda_container")
    result.assert_outcomes(passed=6, errors=4)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_sets_a_variable*",
            "*os.environ changed: +LEAKED_BY_A_TEST (use monkeypatch.setenv/delenv)",
            "*ERROR at teardown of test_removes_one*",
            "*os.environ changed: -KEPT_BY_THE_RUN *",
            "*ERROR at teardown of test_prepends_to_the_path*",
            "*sys.path changed*",
            "*ERROR at teardown of test_changes_folder*",
            "*the working directory changed*",
        ]
    )
