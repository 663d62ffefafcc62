"""End to end against the real engine: what makes a build, what a build says, what builds leave behind."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pytest_lambda_container.build import builder
from pytest_lambda_container.build import image as images
from pytest_lambda_container.build.progress import NETWORK_HINT, BuildProgress
from pytest_lambda_container.build.prune import KEEP, LABEL_BUILD, build_labels
from pytest_lambda_container.engine import hygiene
from pytest_lambda_container.engine.client import Engine, connect
from pytest_lambda_container.errors import BuildFailed

pytestmark = pytest.mark.docker

HAS_BUILDX = builder.buildx_available()
IMAGE_TEST = "def test_image(lambda_image):\n    pass\n"


@pytest.fixture
def engine():
    connected = connect()
    yield connected
    connected.close()


def nonce() -> str:
    return str(time.time_ns())


def build(engine: Engine, folder: Path, **kwargs) -> tuple[images.ImageInfo, list[BuildProgress]]:
    said: list[BuildProgress] = []
    info = images.build(engine, folder / "Dockerfile", folder, progress=said.append, **kwargs)
    return info, said


def images_of_build(docker_client, folder: Path, args: dict[str, str], platform: str | None = None) -> list:
    key = build_labels(folder / "Dockerfile", folder, args, platform)[LABEL_BUILD]
    return docker_client.images.list(filters={"label": f"{LABEL_BUILD}={key}"})


def test_editing_what_the_build_does_not_copy_builds_nothing(pytester, docker_client):
    pytester.makefile("", Dockerfile='FROM python:3.11-slim\nCOPY app.py /function/\nCMD ["app.handler"]\n')
    pytester.makepyfile(app="handler = 1\n", test_image=IMAGE_TEST)
    arg = {"NONCE": nonce()}
    flag = f"--lambda-build-arg=NONCE={arg['NONCE']}"
    pytester.runpytest(flag).stdout.fnmatch_lines(["*building */Dockerfile as pytest-lambda-container/*"])

    pytester.makepyfile(test_image=IMAGE_TEST + "\n\ndef test_more():\n    pass\n")
    for churn in (".pytest_cache/v/e2e/probe", "__pycache__/app.cpython-311.pyc", "notes/todo.md"):
        (pytester.path / churn).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / churn).write_text(f"{time.time()}\n")
    second = pytester.runpytest(flag)
    second.assert_outcomes(passed=2)
    second.stdout.fnmatch_lines(["*is up to date with*Dockerfile*"])
    second.stdout.no_fnmatch_line("*building *")
    assert len(images_of_build(docker_client, pytester.path, arg)) == 1

    pytester.makepyfile(app="handler = 2\n")
    pytester.runpytest(flag).stdout.fnmatch_lines(["*building */Dockerfile as pytest-lambda-container/*"])
    assert len(images_of_build(docker_client, pytester.path, arg)) == 2


@pytest.mark.skipif(HAS_BUILDX, reason="the docker CLI here has buildx, which builds this Dockerfile")
def test_a_dockerfile_that_needs_buildkit_fails_at_once_without_buildx(pytester, docker_client):
    pytester.makefile(
        "",
        Dockerfile=f"FROM python:3.11-slim\nRUN echo {nonce()}\n"
        "RUN --mount=type=cache,target=/root/.cache echo cached\n",
    )
    pytester.makepyfile(IMAGE_TEST)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ConfigError: */Dockerfile needs BuildKit: line 3 `RUN --mount=type=cache*` (RUN --mount)*"
            "buildx plugin*drop those features*"
        ]
    )
    result.stdout.no_fnmatch_line("*build step*")  # nothing was built first
    assert images_of_build(docker_client, pytester.path, {}) == []


@pytest.mark.skipif(not HAS_BUILDX, reason="needs the docker CLI with buildx (`docker buildx version` fails here)")
def test_a_dockerfile_that_needs_buildkit_builds_through_buildx(engine, tmp_path, docker_client):
    (tmp_path / "Dockerfile").write_text(
        "# syntax=docker/dockerfile:1\nFROM python:3.11-slim\nARG NONCE\n"
        "COPY --chmod=755 app.py /function/\nRUN <<EOF\necho built-by-buildkit-$NONCE > /function/marker\nEOF\n"
        'CMD ["app.handler"]\n'
    )
    (tmp_path / "app.py").write_text("handler = 1\n")
    args = {"NONCE": nonce()}
    info, said = build(engine, tmp_path, build_args=args, network_mode="host")
    assert info.built and info.ref.startswith("pytest-lambda-container/")
    assert [p for p in said if p.step is not None], said
    assert [image.id for image in images_of_build(docker_client, tmp_path, args)] == [info.id]
    again, _ = build(engine, tmp_path, build_args=args, network_mode="host")
    assert not again.built and again.id == info.id


def test_old_images_of_a_build_are_pruned_keeping_the_newest(engine, tmp_path, docker_client):
    (tmp_path / "Dockerfile").write_text('FROM python:3.11-slim\nCOPY app.py /function/\nCMD ["app.handler"]\n')
    args = {"NONCE": nonce()}
    built = []
    for version in range(KEEP + 2):
        (tmp_path / "app.py").write_text(f"handler = {version}\n")
        built.append(build(engine, tmp_path, build_args=args)[0])
    left = {image.id for image in images_of_build(docker_client, tmp_path, args)}
    assert left == {info.id for info in built[-KEEP:]}

    # An image a container uses stays, whatever its age; another build of the same folder is another build.
    oldest = built[-KEEP]
    holder = docker_client.containers.create(oldest.id, labels=hygiene.labels(hygiene.new_session_id()))
    try:
        (tmp_path / "Dockerfile.other").write_text((tmp_path / "Dockerfile").read_text())
        other = images.build(engine, tmp_path / "Dockerfile.other", tmp_path, build_args=args)
        for version in range(KEEP + 2, KEEP + 4):
            (tmp_path / "app.py").write_text(f"handler = {version}\n")
            newest, said = build(engine, tmp_path, build_args=args)
        left = {image.id for image in images_of_build(docker_client, tmp_path, args)}
        assert oldest.id in left and newest.id in left and len(left) == KEEP + 1
        assert any(p.text.startswith("removed ") for p in said)
        assert docker_client.images.get(other.id)
    finally:
        holder.remove(force=True)


XDIST_TEST = """
import os, pathlib

def test_one(lambda_image):
    pathlib.Path("built-" + os.environ["PYTEST_XDIST_WORKER"]).write_text(str(lambda_image.built))

def test_two(lambda_image):
    pathlib.Path("built-" + os.environ["PYTEST_XDIST_WORKER"]).write_text(str(lambda_image.built))
"""


def test_two_workers_find_the_image_built_once_with_its_progress_shown(pytester, docker_client):
    key = nonce()
    pytester.makefile(
        "",
        Dockerfile='FROM python:3.11-slim\nARG NONCE\nLABEL e2e.nonce=$NONCE\nRUN echo $NONCE > /n\nCMD ["x.y"]\n',
    )
    pytester.makepyfile(XDIST_TEST)
    result = pytester.runpytest_subprocess("-n", "2", f"--lambda-build-arg=NONCE={key}")
    result.assert_outcomes(passed=2)
    # The controller built it, on the terminal, once; neither worker had anything left to build.
    assert len([line for line in result.outlines if "lambda-container: built pytest-lambda-container/" in line]) == 1
    result.stdout.fnmatch_lines(["*lambda-container: build step 4/5: RUN echo*"])
    assert sorted(p.read_text() for p in pytester.path.glob("built-gw*")) == ["False", "False"]
    assert len(docker_client.images.list(filters={"label": f"e2e.nonce={key}"})) == 1
    assert docker_client.images.list(filters={"label": f"e2e.nonce={key}", "dangling": True}) == []


PROCESS_TEST = """
import pathlib

def test_one(lambda_image):
    pathlib.Path("built").write_text(str(lambda_image.built))
"""


def test_two_pytest_processes_build_the_image_once(inner_pytest, tmp_path, docker_client):
    key = nonce()
    folders = [tmp_path / "a", tmp_path / "b"]
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        'FROM python:3.11-slim\nARG NONCE\nLABEL e2e.nonce=$NONCE\nRUN sleep 3 && echo $NONCE > /n\nCMD ["x.y"]\n'
    )
    procs = []
    for folder in folders:
        folder.mkdir()
        procs.append(
            inner_pytest.spawn(
                folder, PROCESS_TEST, f"--lambda-dockerfile={dockerfile}", f"--lambda-build-arg=NONCE={key}", "-s"
            )
        )
    outs = [proc.communicate(timeout=300)[0] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0], outs
    # One built it; the other waited for that build, said so, and reused the image.
    assert sorted((folder / "built").read_text() for folder in folders) == ["False", "True"]
    assert sum("waiting for another worker's build" in out for out in outs) == 1, outs
    assert len(docker_client.images.list(filters={"label": f"e2e.nonce={key}"})) == 1
    assert docker_client.images.list(filters={"label": f"e2e.nonce={key}", "dangling": True}) == []


def test_a_long_step_says_it_is_alive_and_output_streams_when_asked(engine, tmp_path):
    (tmp_path / "Dockerfile").write_text(f"FROM python:3.11-slim\nRUN echo streamed-$((6*7)) && sleep 12 # {nonce()}\n")
    _, said = build(engine, tmp_path, stream_output=True)
    texts = [p.text for p in said]
    assert "  streamed-42" in texts
    assert [t for t in texts if t.startswith("still building step 2/2 (1")], texts


def test_a_failed_build_shows_a_clean_log_and_the_network_hint(engine, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim\n"
        f"RUN printf '\\033[1;31mcoloured-{nonce()}\\033[0m\\n' && "
        "python -c \"import socket; socket.getaddrinfo('lambda-probe.invalid', 80)\"\n"
    )
    with pytest.raises(BuildFailed) as info:
        build(engine, tmp_path, network_mode="none")
    message = str(info.value)
    assert "\x1b" not in message and "coloured-" in info.value.log_tail
    assert "Temporary failure in name resolution" in info.value.logs  # the log travels with the error
    assert message.splitlines()[1] == NETWORK_HINT


def test_a_platform_the_base_image_lacks_is_an_error_not_another_architecture(pytester, lambda_session):
    host = lambda_session.engine().arch
    other = "arm64" if host == "amd64" else "amd64"
    pytester.makefile("", Dockerfile=f'FROM python:3.11-slim\nRUN echo {nonce()}\nCMD ["x.y"]\n')
    pytester.makepyfile(IMAGE_TEST)
    result = pytester.runpytest(f"--lambda-platform=linux/{other}")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            f"*BuildFailed: building */Dockerfile for linux/{other} made a linux/{host} image, not linux/{other}: "
            f"the base image python:3.11-slim is linux/{host} on this engine, with no {other} variant*"
        ]
    )


def test_a_large_context_without_dockerignore_warns_once(pytester):
    pytester.makefile("", Dockerfile=f'FROM python:3.11-slim\nCOPY app.py /fn/\nRUN echo {nonce()}\nCMD ["x.y"]\n')
    pytester.makepyfile(app="handler = 1\n", test_image=IMAGE_TEST)
    (pytester.path / ".venv").mkdir()
    with (pytester.path / ".venv" / "blob").open("wb") as f:
        f.truncate(60_000_000)  # sparse: sized, not written
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    warning = "*the build context * is 60 MB and has no .dockerignore*biggest folders: .venv 60 MB*printf*.venv*"
    result.stdout.fnmatch_lines([warning])
    assert len([line for line in result.outlines if "has no .dockerignore" in line]) == 1
