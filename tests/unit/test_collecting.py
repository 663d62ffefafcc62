"""Which runs start the configured function while pytest collects (issue 17): checked with pytester, without Docker
(the start itself fails at once here, and is raised only at a test that needs the function)."""

from __future__ import annotations

import pytest

PROBE = """
from pytest_lambda_container.plugin import TARGET

def pytest_collection_finish(session):
    early = getattr(session.config.stash[TARGET], "early", None)
    registered = session.config.pluginmanager.get_plugin("lambda_container.early") is not None
    print(f"PROBE registered={registered} early={early is not None}")
"""
TESTS = """
import pytest

def test_reaches(invoke):
    pass

@pytest.mark.lambda_targets("inprocess")
def test_elsewhere(lambda_client):
    pass

def test_plain():
    pass
"""


@pytest.mark.parametrize(
    ("args", "registered", "early"),
    [
        ((), True, True),
        (("-k", "plain or elsewhere"), True, True),  # started during collection; dropped after the selection
        (("--co",), False, False),
        (("--setup-plan",), False, False),
        (("--lambda-target", "url", "--lambda-url", "http://127.0.0.1:9"), False, False),
    ],
    ids=["container", "deselected", "collect-only", "setup-plan", "url-target"],
)
def test_only_a_container_run_of_tests_starts_the_function_early(pytester, monkeypatch, args, registered, early):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere")
    pytester.makeconftest(PROBE)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest("-p", "no:randomly", "-s", *args)
    result.stdout.fnmatch_lines([f"PROBE registered={registered} early={early}"])


def test_a_test_that_runs_only_on_another_target_does_not_start_it(pytester, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere")
    pytester.makeconftest(PROBE)
    pytester.makepyfile(TESTS.split("def test_reaches")[0] + TESTS.split("pass\n", 1)[1])
    result = pytester.runpytest("-p", "no:randomly", "-s")
    result.stdout.fnmatch_lines(["PROBE registered=True early=False"])
