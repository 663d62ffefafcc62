"""The doctor against the real engine: base images present or not, the image kind read from the base image's
config, the base image asked whether it has the runtime client, the port held by a container; the image built and
the function started once, so that broken images (tests/images) fail here as they would fail the run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pytest_lambda_container.build import platforms
from pytest_lambda_container.container import emulator as rie
from pytest_lambda_container.engine.client import connect
from pytest_lambda_container.engine.hygiene import LABEL, LABEL_PID

pytestmark = pytest.mark.docker

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "tests" / "images"


def doctor(*argv: str, cwd: Path = ROOT) -> tuple[int, dict[str, str]]:
    """Exit status and lines by check name of `python -m pytest_lambda_container doctor ARGV`."""
    status, lines, _pid = doctor_process(*argv, cwd=cwd)
    return status, lines


def doctor_process(*argv: str, cwd: Path = ROOT) -> tuple[int, dict[str, str], int]:
    """`doctor`, and the pid of the process that ran it."""
    cmd = [sys.executable, "-m", "pytest_lambda_container", "doctor", *argv]
    # This checkout's package, from any folder (an editable install of another checkout would win there).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env)
    out, _ = proc.communicate(timeout=600)  # it may build the image
    return proc.returncode, {line.split(":")[0]: line for line in out.splitlines()}, proc.pid


def project(folder: Path, dockerfile: str) -> Path:
    (folder / "Dockerfile").write_text(dockerfile)
    return folder / "Dockerfile"


def test_doctor_on_a_working_machine(tmp_path):
    engine = connect()
    arch = platforms.rie_arch(engine.arch)
    engine.close()
    rie.locate(arch)  # cached, by now or by this
    status, lines = doctor("--port", "0", cwd=tmp_path)  # no Dockerfile here: a warning, not a failure
    assert status == 0, lines
    assert lines["engine"].startswith("engine: ok, ")
    assert lines["emulator"].startswith(f"emulator: ok, aws-lambda-rie for {arch}")
    assert lines["dockerfile"].startswith(f"dockerfile: WARNING: no Dockerfile at {tmp_path / 'Dockerfile'}; ")


def test_the_example_apps_custom_image_passes_every_check():
    # The repository's ini file names the Dockerfile (lambda_dockerfile) and the build's network, as for pytest.
    status, lines = doctor("--port", "0")
    assert status == 0, lines
    assert lines["dockerfile"].startswith(f"dockerfile: ok, {ROOT / 'example_app' / 'Dockerfile'} ")
    assert lines["base image python"].startswith("base image python:3.11-slim: ok, present locally (sha256:")
    assert lines["image kind"] == (
        "image kind: ok, custom image on python:3.11-slim: the plugin mounts aws-lambda-rie and starts "
        "ENTRYPOINT + CMD under it"
    )
    assert lines["runtime client"].startswith("runtime client: ok, awslambdaric listed in requirements.txt")
    assert lines["image"].startswith("image: ok, pytest-lambda-container/example_app:")
    assert lines["runtime start"] == (
        "runtime start: ok, tried in the image: `/usr/local/bin/python -m awslambdaric app.handler` starts the "
        "runtime client"
    )
    assert lines["handler"] == "handler: ok, app.handler: tried in the image, its module imports and has it"
    assert "layer order" not in lines
    assert all(": ok, " in line for line in lines.values() if not line.startswith("  ")), lines


def test_the_aws_base_image_is_known_by_its_entrypoint_not_its_name(docker_client, tmp_path):
    status, lines = doctor("--dockerfile", "example_app/Dockerfile.aws", "--port", "0")
    assert status == 0, lines
    assert lines["image kind"].startswith("image kind: ok, AWS base image (public.ecr.aws/lambda/python:3.11)")
    assert "runtime client" not in lines and "runtime start" not in lines
    assert lines["handler"] == "handler: ok, app.handler: tried in the image, its module imports and has it"
    # Its requirements are installed before app.py is copied.
    assert "layer order" not in lines
    # The same image under a company's name: still an AWS base image, read from its config.
    aws = docker_client.images.get("public.ecr.aws/lambda/python:3.11")
    aws.tag("pytest-lambda-container-doctor/company-base", "1")
    try:
        dockerfile = project(tmp_path, 'FROM pytest-lambda-container-doctor/company-base:1\nCMD ["app.handler"]\n')
        _, lines = doctor("--dockerfile", str(dockerfile), "--port", "0", "--no-build")
    finally:
        docker_client.images.remove("pytest-lambda-container-doctor/company-base:1")
    assert lines["image kind"].startswith("image kind: ok, AWS base image (pytest-lambda-container-doctor/")
    assert "judged by" not in lines["image kind"]


def test_a_base_image_that_is_not_here_and_cannot_be_pulled_is_missing(tmp_path):
    dockerfile = project(tmp_path, 'FROM pytest-lambda-container-doctor/absent:1\nCMD ["app.handler"]\n')
    status, lines = doctor("--dockerfile", str(dockerfile), "--port", "0")
    assert status == 1
    line = lines["base image pytest-lambda-container-doctor/absent"]
    assert line.startswith(
        "base image pytest-lambda-container-doctor/absent:1: MISSING: not present locally, and it cannot be pulled: "
    )
    assert "no registry answers" in line or "its registry refused it" in line


def test_a_cmd_only_image_on_plain_python_is_missing_the_runtime(tmp_path, docker_client):
    dockerfile = project(tmp_path, 'FROM python:3.11-slim\nCOPY app.py ./\nCMD ["app.handler"]\n')
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return {}\n")
    started = datetime.now(timezone.utc)
    status, lines, pid = doctor_process("--dockerfile", str(dockerfile), "--port", "0")
    assert status == 1
    # The base image was asked (it cannot import awslambdaric) in a container labelled as ours, now removed.
    assert lines["runtime client"].startswith("runtime client: MISSING: the Dockerfile does not install awslambdaric")
    assert "nor does the base image have it" in lines["runtime client"]
    # `until` counts whole seconds: a bit past now, so the last second's events are in.
    until = datetime.now(timezone.utc) + timedelta(seconds=1.5)
    events = docker_client.events(since=started, until=until, decode=True, filters={"label": f"{LABEL_PID}={pid}"})
    actions = [e["Action"] for e in events if e.get("Type") == "container"]
    assert actions[0] == "create" and actions[-1] == "destroy", actions
    assert (
        docker_client.containers.list(all=True, ignore_removed=True, filters={"label": [LABEL, f"{LABEL_PID}={pid}"]})
        == []
    )
    # The base image's config is read: it has no ENTRYPOINT, so this is a verdict, not a warning.
    assert lines["runtime start"].startswith("runtime start: MISSING: no ENTRYPOINT starts the runtime client")
    assert 'use ENTRYPOINT ["python", "-m", "awslambdaric"] and CMD ["app.handler"]' in lines["runtime start"]


def test_a_base_image_that_has_the_runtime_client_already_is_asked(tmp_path, lambda_image):
    # The example app's own image as a base, as company images are: the Dockerfile installs nothing more.
    dockerfile = project(tmp_path, f'FROM {lambda_image.ref}\nCMD ["app.handler"]\n')
    status, lines = doctor("--dockerfile", str(dockerfile), "--port", "0", "--no-build")
    assert lines["runtime client"] == "runtime client: ok, awslambdaric is in the base image already (it imports there)"
    assert lines["runtime start"].startswith("runtime start: ok, ENTRYPOINT + CMD `/usr/local/bin/python -m")
    assert lines["handler"] == "handler: WARNING: app.handler: named, not tried in the image (--no-build)"
    assert "image" not in lines  # nothing built
    assert status == 0, lines


def test_a_port_held_by_a_container_names_it(lambda_container):
    _, lines = doctor("--port", str(lambda_container.port))
    line = lines[f"port {lambda_container.port}"]
    assert line.startswith(f"port {lambda_container.port}: WARNING: taken on 127.0.0.1 by container ")
    assert f"{lambda_container.name} (ours)" in line and f"docker rm -f {lambda_container.name}" in line


def no_container_left(docker_client, pid: int) -> None:
    assert (
        docker_client.containers.list(all=True, ignore_removed=True, filters={"label": [LABEL, f"{LABEL_PID}={pid}"]})
        == []
    )


def test_a_mistyped_handler_on_an_aws_base_image_fails_in_the_image(docker_client):
    status, lines, pid = doctor_process("--dockerfile", str(IMAGES / "Dockerfile.aws-handler-typo"), "--port", "0")
    assert status == 1, lines
    assert lines["image"].startswith("image: ok, pytest-lambda-container/images:")
    assert lines["handler"].startswith(
        "handler: MISSING: tried in the image: Runtime.HandlerNotFound: Handler 'handlr' missing on module 'probe'"
    )
    assert not any(line.startswith(("handler: ok", "runtime start: ok")) for line in lines.values())
    no_container_left(docker_client, pid)


def test_an_import_typo_fails_in_the_image_with_the_runtimes_words(docker_client, lambda_image):
    dockerfile = str(IMAGES / "Dockerfile.custom-import-typo")
    status, lines, pid = doctor_process(
        "--dockerfile", dockerfile, "--lambda-build-arg", f"BASE={lambda_image.id}", "--port", "0"
    )
    assert status == 1, lines
    assert lines["runtime start"] == "runtime start: ok, tried in the image: the runtime client starts"
    assert lines["handler"].startswith(
        "handler: MISSING: tried in the image: Runtime.ImportModuleError: Unable to import module 'broken_import': "
        "cannot import name 'dumsp' from 'json'"
    )
    no_container_left(docker_client, pid)


def test_without_the_runtime_client_no_line_says_the_runtime_starts(docker_client):
    status, lines = doctor("--dockerfile", str(IMAGES / "Dockerfile.no-runtime-client"), "--port", "0")
    assert status == 1, lines
    assert lines["runtime client"].startswith("runtime client: MISSING: the Dockerfile does not install awslambdaric")
    assert lines["runtime start"].startswith(
        "runtime start: MISSING: ENTRYPOINT + CMD `python -m awslambdaric probe.handler` would start the runtime "
        "client, but the image does not have it"
    )
    # Not tried in the image: the lines above already say what blocks it, and the handler is not called "ok".
    assert "image" not in lines
    assert lines["handler"] == (
        "handler: WARNING: probe.handler: named, not tried in the image (the lines above say why)"
    )


def test_code_copied_before_the_install_is_a_warning_with_the_last_builds_time(lambda_image):
    argv = ("--dockerfile", str(IMAGES / "Dockerfile.custom-copy-before-install"), "--port", "0")
    base = ("--lambda-build-arg", f"BASE={lambda_image.id}")
    status, lines = doctor(*argv, *base)
    assert status == 0, lines  # a warning: the run works, only slower
    line = lines["layer order"]
    assert line.startswith(
        "layer order: WARNING: line 7 copies probe.py before line 8 installs the dependencies, so every edit of the "
        "code runs the install again (it took "
    )
    # The step sleeps 2 s: its layer was made at least a (whole) second after the one before it.
    assert int(re.search(r"it took (\d+) s when it last ran", line)[1]) >= 1
    # Without building, the time is the last build's, read from the image it left.
    _, again = doctor(*argv, *base, "--no-build")
    assert re.search(r"it took \d+ s when it last ran", again["layer order"]), again


def test_an_image_given_is_tried_as_it_is(lambda_image, tmp_path):
    status, lines = doctor("--lambda-image", lambda_image.ref, "--port", "0", cwd=tmp_path)
    assert status == 0, lines
    assert "dockerfile" not in lines  # an image given: no Dockerfile is read
    assert lines["image"] == f"image: ok, {lambda_image.ref} (given with --lambda-image, as it is)"
    assert lines["handler"] == "handler: ok, app.handler: tried in the image, its module imports and has it"
    status, lines = doctor("--lambda-image", "pytest-lambda-container-doctor/absent:1", "--port", "0", cwd=tmp_path)
    assert status == 1
    assert lines["image"].startswith("image: MISSING: image 'pytest-lambda-container-doctor/absent:1' does not exist")
