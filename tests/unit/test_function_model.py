"""One resolved function and one environment builder, whatever the target: a spec means the same function to the
container target and the inprocess one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_lambda_container import FunctionSpec, ImageInfo, Settings
from pytest_lambda_container.build.image_config import AWS_ENTRYPOINT, ImageConfig
from pytest_lambda_container.config.environment import environment as lambda_environment
from pytest_lambda_container.config.environment import function_environment
from pytest_lambda_container.config.function import ResolvedFunction
from pytest_lambda_container.container import launch
from pytest_lambda_container.inprocess.context import context_for
from pytest_lambda_container.inprocess.function import load

HANDLER = "def handler(event, context):\n    return {}\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(HANDLER)
    (tmp_path / "Dockerfile").write_text(
        'FROM python:3.11-slim\nCOPY app.py /var/task/\nENTRYPOINT ["python", "-m", "awslambdaric"]\n'
        'CMD ["app.handler"]\n'
    )
    return tmp_path


def test_the_settings_fill_what_the_spec_leaves_open(tmp_path: Path) -> None:
    settings = Settings(rootdir=tmp_path, env={"A": "1", "B": "s"}, timeout=7, handler="app.h", memory=1024)
    fn = FunctionSpec(env=(("B", "spec"),), build_args=(("X", "1"),)).resolve(settings)
    assert fn.env == (("A", "1"), ("B", "spec"))  # the spec's variables win
    assert (fn.handler, fn.timeout, fn.memory, fn.image) == ("app.h", 7, 1024, None)
    assert (fn.dockerfile, fn.context) == ((tmp_path / "Dockerfile").resolve(), tmp_path.resolve())


def test_another_dockerfile_builds_in_its_own_folder_and_is_never_the_given_image(tmp_path: Path) -> None:
    settings = Settings(rootdir=tmp_path, image="given:1")
    assert FunctionSpec().resolve(settings).image == "given:1"
    other = FunctionSpec.of(tmp_path, dockerfile="fn/Dockerfile").resolve(settings)
    assert other.image is None and other.context == (tmp_path / "fn").resolve()
    # Another handler or timeout is still the configured build: --lambda-image replaces it.
    assert FunctionSpec(handler="app.other", timeout=3).resolve(settings).image == "given:1"


def test_a_function_is_its_resolution_not_how_it_was_asked_for(tmp_path: Path) -> None:
    settings = Settings(rootdir=tmp_path, handler="app.handler", timeout=5)
    asked = FunctionSpec.of(tmp_path, dockerfile="Dockerfile", handler="app.handler", timeout=5)
    assert asked != FunctionSpec() and asked.resolve(settings) == FunctionSpec().resolve(settings)


def test_one_environment_builder_memory_timeout_and_the_users_variables_over_lambdas() -> None:
    reserved = lambda_environment("fn", "eu-west-1", instance="0" * 32)
    env = function_environment(reserved, timeout=2.5, memory=256, env={"AWS_REGION": "mine", "X": "1"})
    # Whole seconds, rounded up: never shorter than asked.
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "3" and env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert (env["AWS_REGION"], env["AWS_DEFAULT_REGION"], env["X"]) == ("mine", "eu-west-1", "1")
    assert "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" not in function_environment(reserved, timeout=1, memory=None, env={})


def test_the_container_and_inprocess_get_the_same_handler_and_environment(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The in-process function puts its scoped environ in place of os.environ: the original comes back after.
    monkeypatch.setattr(os, "environ", os.environ)
    settings = Settings(rootdir=project, env={"A": "1"}, timeout=9, memory=768, function_name="fn", region="eu-west-1")
    fn: ResolvedFunction = FunctionSpec(env=(("B", "2"),)).resolve(settings)
    inprocess = load(settings, fn)
    try:
        plan = launch.plan(
            ImageInfo("sha256:x", "x", ImageConfig(entrypoint=(AWS_ENTRYPOINT,), cmd=("app.handler",))),
            labels={},
            handler=fn.handler,
            environment=fn.environment(),
            timeout=fn.timeout,
        )
        container_env = dict(plan.environment)
        # Each execution environment has its own log stream: everything else is the same.
        for env in (container_env, inprocess.env):
            env.pop("AWS_LAMBDA_LOG_STREAM_NAME")
        # Where the code is and which handler runs: a container's image and emulator say; in-process, the plugin.
        own = {key: inprocess.env.pop(key) for key in ("LAMBDA_TASK_ROOT", "_HANDLER")}
        assert own == {"LAMBDA_TASK_ROOT": str(inprocess.task_root), "_HANDLER": "app.handler"}
        assert inprocess.env == container_env
        assert container_env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "768" and container_env["B"] == "2"
        assert container_env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "9" and inprocess.timeout == plan.timeout == 9
        assert inprocess.name == "app.handler"
    finally:
        inprocess.close()


def test_an_inprocess_context_without_a_memory_size_has_the_plugins_default() -> None:
    # A string, as awslambdaric reads it from AWS_LAMBDA_FUNCTION_MEMORY_SIZE.
    assert context_for({}, timeout=1).memory_limit_in_mb == str(Settings(rootdir=Path(".")).memory) == "512"
