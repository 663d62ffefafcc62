"""Inside the function's container without changing the image: the example suite's coverage measured in the
container matches the in-process run's, line for line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.docker


def example_suite(*args: str, coverage_file: Path) -> tuple[int, str, int]:
    """pytest on example_app/tests with `args`, in a process of its own: exit code, output, pid."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:randomly", *args, "example_app/tests"],
        cwd=ROOT,
        env={**os.environ, "COVERAGE_FILE": str(coverage_file)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, _ = proc.communicate(timeout=600)
    return proc.returncode, output, proc.pid


def app_line(output: str) -> tuple[int, str]:
    """The coverage report's line of app.py: its percentage and its missed lines."""
    found = re.search(r"^example_app/app\.py\s+\d+\s+\d+\s+(\d+)%\s*(.*)$", output, re.MULTILINE)
    assert found, output
    return int(found.group(1)), found.group(2).strip()


def test_coverage_from_inside_the_container_matches_the_in_process_run(tmp_path, containers_of_pid) -> None:
    report = ("--cov=app", "--cov-report=term-missing")
    code, output, pid = example_suite(
        *report, "--lambda-coverage", "--lambda-port=0", coverage_file=tmp_path / "container.coverage"
    )
    assert code == 0, output
    assert "coverage measured in the containers merged into the tests' coverage" in output, output
    container_percent, container_missed = app_line(output)
    code, inprocess_output, _ = example_suite(
        *report, "--lambda-target", "inprocess", coverage_file=tmp_path / "inprocess.coverage"
    )
    assert code == 0, inprocess_output
    # Partly covered: the example app has routes no test calls, and each is listed as missed.
    assert 0 < container_percent < 100, output
    assert container_missed, output
    assert (container_percent, container_missed) == app_line(inprocess_output)
    assert containers_of_pid(pid) == []


def test_lambda_coverage_without_a_measuring_coverage_says_what_is_missing(tmp_path) -> None:
    code, output, _ = example_suite(
        "--lambda-coverage", "--lambda-port=0", "-x", "-k", "hello", coverage_file=tmp_path / "none.coverage"
    )
    assert code != 0
    assert "--lambda-coverage merges into the tests' coverage, and none is measuring: pass --cov" in output, output
