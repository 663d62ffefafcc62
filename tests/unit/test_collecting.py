"""Which runs start the configured function while pytest collects (issue 17): checked with pytester, without Docker
(the start itself fails at once here, and is raised only at a test that needs the function)."""

from __future__ import annotations

import os
import sys

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


def test_a_run_that_no_longer_starts_the_remembered_function_corrects_the_memory(pytester, monkeypatch, tmp_path):
    """The next run of a command line starts what the last one needed, with its settings, as pytest registers the
    plugin; a run that then turns out to start nothing early (here the ini file moved it to the inprocess target)
    drops it and says so in the memory, or every later run would start and drop it again."""
    from pytest_lambda_container.container import forecast

    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere")
    monkeypatch.setenv("PYTEST_LAMBDA_CONTAINER_CACHE", str(tmp_path / "cache"))
    for name in [name for name in os.environ if name.startswith("PYTEST_XDIST_")]:
        monkeypatch.delenv(name)  # not an xdist worker's runs, as this test's own process may be
    pytester.makepyfile(
        test_it="def test_reaches(invoke):\n    pass\n", app="def handler(event, context):\n    return {}\n"
    )
    pytester.path.joinpath("Dockerfile").write_text('FROM public.ecr.aws/lambda/python:3.11\nCMD ["app.handler"]\n')

    def memory() -> list[forecast.Memory | None]:
        return [forecast.recall(p.name, folder=p.parent) for p in (tmp_path / "cache" / "forecast").iterdir()]

    # The same command line each time (pytester's own runs differ by their --basetemp).
    run = (sys.executable, "-m", "pytest", "-p", "no:randomly", "-p", "no:cacheprovider", f"--basetemp={tmp_path}/b")
    pytester.run(*run)  # its test errs (no engine): it reached the function all the same
    [remembered] = memory()
    assert remembered is not None and remembered.reached and remembered.settings["target"] == "container"
    pytester.makeini("[pytest]\nlambda_target = inprocess\n")
    pytester.run(*run)
    assert memory() == [forecast.Memory(False, None)]


@pytest.mark.parametrize(
    ("args", "addopts", "expected"),
    [
        ((), "", False),
        (("-n", "2"), "", True),
        (("-n2",), "", True),
        (("--numprocesses=auto",), "", True),
        ((), "-n 4 --strict-markers", True),
        ((), "--dist loadscope", True),
        (("-p", "no:randomly", "--no-header"), "", False),
    ],
)
def test_a_run_that_xdist_distributes_is_known_before_xdist_has_registered_its_options(
    monkeypatch, args, addopts, expected
):
    from types import SimpleNamespace

    from pytest_lambda_container.collecting import distributes

    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    config = SimpleNamespace(invocation_params=SimpleNamespace(args=args), getini=lambda name: addopts.split())
    assert distributes(config) is expected  # type: ignore[arg-type]
