"""Both ways to build a Lambda image, and the shapes real images take: each built and invoked for real."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pytest_lambda_container import ContainerNotReady, FunctionSpec, LambdaContainer
from pytest_lambda_container.build import platforms
from pytest_lambda_container.container import emulator as rie
from pytest_lambda_container.container import launch
from pytest_lambda_container.engine import hygiene

pytestmark = pytest.mark.docker

IMAGES = Path(__file__).resolve().parents[1] / "images"


@pytest.fixture(scope="module")
def custom(lambda_container_factory, lambda_image):
    """Start a variant of the custom image, built FROM the example app's image."""

    def start(variant: str, **kwargs):
        return lambda_container_factory(
            dockerfile=IMAGES / f"Dockerfile.custom-{variant}", build_args={"BASE": lambda_image.id}, **kwargs
        )

    return start


def test_aws_base_image_is_detected_from_its_entrypoint_not_its_tag(lambda_container_factory):
    fn = lambda_container_factory(dockerfile=IMAGES / "Dockerfile.aws-workdir")
    assert fn.image.runs_emulator
    assert fn.plan.entrypoint is None and fn.plan.mounts == {}  # run as it is: no emulator mounted
    assert fn.image.ref.startswith("pytest-lambda-container/")  # our tag says nothing of the base image


def test_aws_base_image_runs_in_the_task_root_whatever_the_workdir(lambda_container_factory):
    fn = lambda_container_factory(dockerfile=IMAGES / "Dockerfile.aws-workdir")
    result = fn.invoke_event({"k": "v"})
    assert result["cwd"] == "/var/task" and result["task_root"] == "/var/task"
    assert result["event"] == {"k": "v"}


def test_aws_base_image_handler_override(lambda_container_factory):
    fn = lambda_container_factory(dockerfile=IMAGES / "Dockerfile.aws-workdir", handler="probe.other")
    assert fn.invoke_event({}) == {"other": True}


def test_aws_base_image_as_non_root(lambda_container_factory):
    result = lambda_container_factory(dockerfile=IMAGES / "Dockerfile.aws-nonroot").invoke_event({})
    # Lambda's sandbox runs every image as its own unprivileged user, whatever the image's USER.
    assert result["uid"] == 993


def test_shell_script_entrypoint(custom):
    result = custom("shell-entrypoint").invoke_event({"a": 1})
    assert result["from_entry_script"] == "yes" and result["event"] == {"a": 1}


def test_shell_script_entrypoint_handler_override(custom):
    assert custom("shell-entrypoint", handler="probe.other").invoke_event({}) == {"other": True}


def test_entrypoint_only_no_cmd(custom):
    fn = custom("entrypoint-only")
    assert fn.image.cmd == ()
    assert fn.invoke_event({"b": 2})["event"] == {"b": 2}


def test_entrypoint_only_handler_override_replaces_the_handler_in_the_entrypoint(custom):
    fn = custom("entrypoint-only", handler="probe.other")
    assert fn.container.attrs["Config"]["Cmd"] == ["/usr/local/bin/python", "-m", "awslambdaric", "probe.other"]
    assert fn.invoke_event({}) == {"other": True}


def test_non_root_user(custom):
    # Lambda's sandbox runs every image as its own unprivileged user, whatever the image's USER.
    assert custom("nonroot").invoke_event({})["uid"] == 993


def test_workdir_is_not_the_handlers_folder(custom):
    result = custom("workdir").invoke_event({})
    assert result["cwd"] == "/tmp"


def test_the_emulator_matches_the_image_architecture(custom, lambda_image, lambda_session):
    fn = custom("nonroot")
    host = platforms.find(lambda_session.engine().arch)
    assert host is not None and lambda_image.rie_arch == host.rie  # built for this host
    (mounted,) = fn.plan.mounts
    # The volume is named for its content: the emulator for the image's architecture.
    found = rie.locate(lambda_image.rie_arch)
    assert mounted == rie.bundle(found).volume and rie.elf_machine(found) == host.elf_machine


def test_an_image_for_an_architecture_the_host_cannot_run_is_refused_clearly(pytester, lambda_session):
    host = lambda_session.engine().arch
    other = next(a for a in platforms.ARCHES if a.docker != host)
    if Path(f"/proc/sys/fs/binfmt_misc/qemu-{other.kernel}").exists():
        pytest.skip(f"this host can emulate {other.docker}, so such an image is runnable here")
    pytester.makefile("", Dockerfile='FROM scratch\nCOPY test_arch.py /\nCMD ["test_arch.handler"]\n')
    pytester.makepyfile(test_arch="def test_fn(lambda_container):\n    pass\n")
    result = pytester.runpytest("--lambda-platform", f"linux/{other.docker}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*ConfigError: image pytest-lambda-container/*:* is linux/{other.docker}, but the engine runs "
            f"linux/{host} and this host has no emulation for {other.docker}*"
            f"Build for this host with --lambda-platform linux/{host}*"
        ]
    )


def test_a_container_whose_emulator_never_answers_fails_quickly_with_its_log(lambda_session, docker_client):
    info = lambda_session.image(FunctionSpec(dockerfile=IMAGES / "Dockerfile.aws-never-ready"))
    started = time.monotonic()
    with pytest.raises(
        ContainerNotReady, match=r"runs, but the emulator did not answer on http://127\.0\.0\.1:\d+ within 3s"
    ):
        plan = launch.plan(info, labels=hygiene.labels(lambda_session.id))
        LambdaContainer.start(lambda_session.engine(), plan, port=0, ready_timeout=3)
    assert time.monotonic() - started < 15
    # This session's: another run on the same engine may be starting its own container of the image just now.
    mine = f"{hygiene.LABEL_SESSION}={lambda_session.id}"
    leftovers = docker_client.containers.list(
        all=True, ignore_removed=True, filters={"ancestor": info.id, "label": mine}
    )
    assert leftovers == []
