"""The command line without Docker: `event` checked against current Mangum in-process, `doctor`'s reading of
Dockerfiles in temporary projects (the engine pointed nowhere)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest
from mangum import Mangum

from pytest_lambda_container import FORMATS
from pytest_lambda_container.__main__ import main
from pytest_lambda_container.build import image_config
from pytest_lambda_container.build import stages as dockerfile_stages
from pytest_lambda_container.build.image_config import ImageConfig
from pytest_lambda_container.cli import project_check
from pytest_lambda_container.fronts.events import get_format
from pytest_lambda_container.inprocess.function import InProcessFunction


@pytest.fixture(autouse=True)
def no_ini_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in a folder of its own, whose empty pytest.ini is the one `event` reads (not this project's)."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    monkeypatch.chdir(tmp_path)


def event_of(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(["event", *argv]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "one line: `curl -d @-` strips newlines"
    return json.loads(out)


@pytest.fixture
def answer(example_app: ModuleType) -> Callable[..., tuple[int, object]]:
    """What current Mangum (the app's own, fresh) answers to an event, as the front decodes it."""

    def answer(event: dict, fmt: str = "rest") -> tuple[int, object]:
        function = InProcessFunction(Mangum(example_app.app, lifespan="off"))
        try:
            decoded = get_format(fmt).decode(function.invoke_event(event))
        finally:
            function.close()
        return decoded.status_code, json.loads(decoded.body)

    return answer


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_printed_event_is_accepted_by_current_mangum_in_every_format(capsys, answer, fmt):
    event = event_of(capsys, "POST", "/test3", "--query", "message=hoge", "--format", fmt)
    assert answer(event, fmt) == (200, {"message": "hoge"})
    assert answer(event_of(capsys, "GET", "/test1", "--format", fmt), fmt) == (200, {"message": "test"})


def test_the_event_is_the_plugins_own(capsys):
    rest = event_of(capsys, "GET", "/test1")
    assert rest["resource"] == "/{proxy+}" and rest["requestContext"]["stage"] == "test"
    http = event_of(capsys, "GET", "/test1", "--format", "http")
    assert http["version"] == "2.0" and http["rawPath"] == "/test1"


def test_the_event_reads_the_ini_file_pytest_reads_there_and_its_flags_win(capsys, tmp_path, monkeypatch):
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nlambda_event_format = http\nlambda_region = eu-west-1\nlambda_binary_media_types = image/png\n"
        # Options of other targets and of the container are not the event's: they change nothing here.
        "lambda_target = url\nlambda_dockerfile = nowhere/Dockerfile\n"
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")  # as pytest does, the ini file is found in a parent folder
    http = event_of(capsys, "GET", "/test1")
    assert http["version"] == "2.0"
    assert http["requestContext"]["domainName"] == "1234567890.execute-api.eu-west-1.amazonaws.com"
    png = ("--body", "PNG", "--header", "content-type: image/png")
    rest = event_of(capsys, "POST", "/up", "--lambda-event-format=rest", *png)
    assert rest["requestContext"]["domainName"].endswith(".eu-west-1.amazonaws.com")
    # The ini file's binary media types apply to REST, as they would to the tests' requests.
    assert rest["isBase64Encoded"] is True
    assert event_of(capsys, "GET", "/", "--format", "alb", "--lambda-region", "ap-south-1")["requestContext"] == {
        "elb": {"targetGroupArn": ANY_ARN_IN("ap-south-1")}
    }


class ANY_ARN_IN(str):
    """Equal to any ARN in this region."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith(f"arn:aws:elasticloadbalancing:{self}:")

    __hash__ = str.__hash__


def test_a_bad_ini_value_for_the_event_is_a_usage_error_naming_its_key(capsys, tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\nlambda_event_format = soap\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["event", "GET", "/x"])
    assert exit_info.value.code == 2
    assert "ini key lambda_event_format: unknown event format 'soap'" in capsys.readouterr().err


def test_headers_query_and_a_json_body(capsys, answer):
    event = event_of(capsys, "GET", "/echo?a=1", "--query", "a=2", "--query", "b=x=y", "--header", "X-Test: yes")
    status, seen = answer(event)
    assert status == 200
    assert seen["query"] == [["a", "1"], ["a", "2"], ["b", "x=y"]]
    assert seen["headers"]["x-test"] == "yes"
    event = event_of(capsys, "POST", "/items", "--json", '{"name": "pen", "price": 2}')
    assert answer(event) == (201, {"created": {"name": "pen", "price": 2.0, "tags": []}, "total": 2.2})


def test_a_body_from_a_file(capsys, answer, tmp_path):
    body = tmp_path / "item.json"
    body.write_text('{"name": "ink", "price": 10}')
    event = event_of(capsys, "POST", "/items", "--body", f"@{body}", "--header", "content-type: application/json")
    assert answer(event) == (201, {"created": {"name": "ink", "price": 10.0, "tags": []}, "total": 11.0})


def test_the_module_runs_as_a_command(answer):
    cmd = [sys.executable, "-m", "pytest_lambda_container", "event", "POST", "/test3", "--query", "message=hoge"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert answer(json.loads(out)) == (200, {"message": "hoge"})


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["FETCH", "/x"], "'FETCH' is not an HTTP method"),
        (["GET", "x"], "path 'x' must start with '/'"),
        (["GET", "/x", "--header", "nocolon"], "--header 'nocolon': expected NAME:VALUE"),
        (["GET", "/x", "--query", "novalue"], "--query 'novalue': expected NAME=VALUE"),
        (["POST", "/x", "--json", "{nope"], "--json is not valid JSON"),
        (["POST", "/x", "--body", "@/nonexistent/file"], "cannot read the body from /nonexistent/file"),
        (["GET", "/x", "--format", "soap"], "unknown event format 'soap'; choose one of rest, http"),
    ],
)
def test_bad_requests_are_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["event", *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "usage: python -m pytest_lambda_container event" in err


# --- doctor, on projects in temporary folders, with no engine ------------------------------------------------


@pytest.fixture
def doctor(tmp_path, monkeypatch, capsys):
    """Run the doctor on a project of `dockerfile` and `files` in tmp_path: its exit status and lines by check."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere")

    def run(dockerfile: str, *extra: str, files: dict[str, str] | None = None) -> tuple[int, dict[str, str]]:
        for name, text in (files or {}).items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
        (tmp_path / "Dockerfile").write_text(dockerfile)
        status = main(["doctor", "--dockerfile", str(tmp_path / "Dockerfile"), "--port", "0", *extra])
        lines = capsys.readouterr().out.splitlines()
        return status, {line.split(":")[0]: line for line in lines}

    return run


CUSTOM = """FROM python:3.11-slim
WORKDIR /function
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY app.py ./
ENTRYPOINT ["/usr/local/bin/python", "-m", "awslambdaric"]
CMD ["app.handler"]
"""


def test_a_custom_image_that_installs_and_starts_the_runtime_client(doctor):
    status, lines = doctor(CUSTOM, files={"requirements.txt": "fastapi\nawslambdaric>=2.0  # runtime\n"})
    assert status == 1  # the engine is missing, and says so
    assert lines["engine"].startswith("engine: MISSING: no Docker engine answers at unix:///nowhere")
    assert lines["engine"].endswith(
        "pip installs no engine: install Docker Engine or Docker Desktop "
        "(https://docs.docker.com/engine/install/), then run the doctor again."
    )
    assert lines["dockerfile"].startswith("dockerfile: ok, ") and "(7 instructions)" in lines["dockerfile"]
    assert lines["base image python"] == "base image python:3.11-slim: WARNING: not checked: no Docker engine"
    assert lines["image kind"].startswith("image kind: ok, custom image on python:3.11-slim")
    assert "judged by the base image's name" in lines["image kind"]
    assert lines["runtime client"] == "runtime client: ok, awslambdaric listed in requirements.txt (copied at line 3)"
    assert lines["runtime start"].startswith(
        "runtime start: ok, ENTRYPOINT + CMD `/usr/local/bin/python -m awslambdaric"
    )
    # Named, but only a build can tell whether it loads: without an engine, not an "ok".
    assert lines["handler"] == "handler: WARNING: app.handler: named, not tried in the image (no engine)"


@pytest.mark.parametrize(
    ("dockerfile", "files", "verdict"),
    [
        (
            CUSTOM.replace("COPY requirements.txt", "COPY requirements.txt base.txt"),
            {"requirements.txt": "-r base.txt\n", "base.txt": "AWSLambdaRIC==2.0.8\n"},
            "listed in base.txt (copied at line 3, through requirements.txt)",
        ),
        (
            "FROM python:3.11\nCOPY . .\nRUN pip install -r requirements/prod.txt\n" + CUSTOM.splitlines()[-2],
            {"requirements/prod.txt": "awslambdaric\n"},
            "listed in requirements/prod.txt (copied at line 2)",
        ),
        (
            "FROM python:3.11\nRUN pip install --no-cache-dir fastapi 'awslambdaric==2.0.8'\n"
            + CUSTOM.splitlines()[-2],
            {},
            "installed by the RUN at line 2",
        ),
        (
            "FROM python:3.11\nCOPY pyproject.toml .\nRUN pip install .\n" + CUSTOM.splitlines()[-2],
            {"pyproject.toml": '[project]\ndependencies = ["awslambdaric>=2"]\n'},
            "listed in pyproject.toml",
        ),
        # COPY sources as the build (and the content tag) reads them: ARGs filled in, `..` unable to leave the context.
        (
            "FROM python:3.11\nARG REQS=requirements/prod.txt\nCOPY ${REQS} ./\nRUN pip install -r prod.txt\n"
            + CUSTOM.splitlines()[-2],
            {"requirements/prod.txt": "awslambdaric\n"},
            "listed in requirements/prod.txt (copied at line 3)",
        ),
        (
            "FROM python:3.11\nCOPY ../requirements.txt ./\nRUN pip install -r requirements.txt\n"
            + CUSTOM.splitlines()[-2],
            {"requirements.txt": "awslambdaric\n"},
            "listed in requirements.txt (copied at line 2)",
        ),
    ],
)
def test_the_runtime_client_is_found_where_the_dockerfile_installs_it(doctor, dockerfile, files, verdict):
    _, lines = doctor(dockerfile, files=files)
    assert lines["runtime client"].startswith("runtime client: ok, ") and verdict in lines["runtime client"]


def test_a_cmd_only_image_without_the_runtime_client_is_missing_both(doctor):
    dockerfile = (
        "FROM python:3.11-slim\nCOPY requirements.txt app.py ./\n"
        'RUN pip install -r requirements.txt\nCMD ["app.handler"]\n'
    )
    status, lines = doctor(dockerfile, files={"requirements.txt": "fastapi\nmangum\n"})
    assert status == 1
    assert lines["runtime client"].startswith("runtime client: MISSING: the Dockerfile does not install awslambdaric")
    assert "requirements.txt does not list it" in lines["runtime client"]
    assert "RUN pip install awslambdaric" in lines["runtime client"]
    # Without an engine the base image's own ENTRYPOINT is unknown: a warning with the fix, not a verdict.
    assert lines["runtime start"].startswith("runtime start: WARNING: the Dockerfile sets no ENTRYPOINT")
    assert 'ENTRYPOINT ["python", "-m", "awslambdaric"] and CMD ["app.handler"]' in lines["runtime start"]


@pytest.mark.parametrize(
    "install", ["RUN pip install poetry && poetry install\n", "RUN <<EOF\npip install awslambdaric\nEOF\n"]
)
def test_an_installer_the_doctor_cannot_read_is_a_warning(doctor, install):
    dockerfile = "FROM python:3.11\nCOPY . .\n" + install + CUSTOM.splitlines()[-2]
    _, lines = doctor(dockerfile)
    assert lines["runtime client"].startswith("runtime client: WARNING: could not tell whether awslambdaric")
    assert "line 3" in lines["runtime client"]


def test_an_entrypoint_script_from_the_context_is_read(doctor):
    dockerfile = 'FROM python:3.11\nRUN pip install awslambdaric\nCOPY entry.sh /entry.sh\nENTRYPOINT ["/entry.sh"]\n'
    script = '#!/bin/sh\nexec python -m awslambdaric "$@"\n'
    _, lines = doctor(dockerfile + 'CMD ["app.handler"]\n', files={"entry.sh": script})
    assert lines["runtime start"] == "runtime start: ok, ENTRYPOINT /entry.sh (entry.sh) starts python -m awslambdaric"
    _, lines = doctor(dockerfile, files={"entry.sh": "#!/bin/sh\nexec python app.py\n"})
    assert lines["runtime start"].startswith("runtime start: WARNING: ENTRYPOINT `/entry.sh` does not visibly start")
    assert lines["handler"].startswith("handler: WARNING: no handler")


def test_an_aws_base_image_needs_no_runtime_client_of_its_own(doctor):
    dockerfile = 'FROM public.ecr.aws/lambda/python:3.11\nCOPY app.py ./\nCMD ["app.handler"]\n'
    _, lines = doctor(dockerfile)
    assert lines["image kind"].startswith("image kind: ok, AWS base image (public.ecr.aws/lambda/python:3.11)")
    assert "runtime client" not in lines and "runtime start" not in lines
    assert lines["handler"] == "handler: WARNING: app.handler: named, not tried in the image (no engine)"


@pytest.mark.parametrize(
    ("dockerfile", "problem"),
    [
        ("FROM python:3.11\nRUNN pip install x\n", "line 2: unknown instruction RUNN; did you mean RUN?"),
        ("RUN echo\n", "no FROM instruction"),
        ("# a comment\n\nRUN echo\nFROM python:3.11\n", "line 3: RUN before the first FROM (only ARG may"),
        ("ARG BASE\nFROM ${BASE}\n", "line 2: FROM ${BASE} names no image without a value for BASE"),
    ],
)
def test_a_dockerfile_the_builder_would_refuse_is_missing(doctor, dockerfile, problem):
    status, lines = doctor(dockerfile)
    assert status == 1
    assert lines["dockerfile"].startswith("dockerfile: MISSING: ") and problem in lines["dockerfile"]
    assert "image kind" not in lines  # nothing more is read from a Dockerfile the builder refuses


def test_build_args_fill_the_base_image(doctor):
    dockerfile = "ARG BASE\nFROM ${BASE} AS build\nFROM build\n" + CUSTOM.splitlines()[-2]
    _, lines = doctor(dockerfile, "--build-arg", "BASE=public.ecr.aws/lambda/python:3.12")
    assert lines["dockerfile"].startswith("dockerfile: ok, ") and "2 stages" in lines["dockerfile"]
    # An ENTRYPOINT of the Dockerfile's own replaces the base image's: this is a custom image.
    assert lines["image kind"].startswith("image kind: ok, custom image on public.ecr.aws/lambda/python:3.12")


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--build-arg", "BASE"], "option --lambda-build-arg: 'BASE' is not KEY=VALUE"),
        (["--port", "70000"], "option --lambda-port: port 70000 is out of range"),
        (["--lambda-port", "http"], "option --lambda-port: port 'http' is not a number"),
        (["--dockerfile", "Dockerfile", "--context", "/nonexistent"], "build context /nonexistent is not a directory"),
        (["--dockerfile", "/nonexistent/Dockerfile"], "no Dockerfile at /nonexistent/Dockerfile; point --lambda-"),
    ],
)
def test_a_bad_option_is_a_usage_error_as_in_the_plugins_options(capsys, tmp_path, argv, error):
    (tmp_path / "Dockerfile").write_text(CUSTOM)
    with pytest.raises(SystemExit) as exit_:
        main(["doctor", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m pytest_lambda_container doctor") and error in err


def test_the_doctor_reads_the_ini_file_pytest_reads_there_and_its_flags_win(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nowhere")

    def lines_of(*argv: str) -> tuple[int, dict[str, str]]:
        status = main(["doctor", *argv])
        return status, {line.split(":")[0]: line for line in capsys.readouterr().out.splitlines()}

    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "Dockerfile").write_text("ARG BASE\nFROM ${BASE}\n" + CUSTOM.split("\n", 1)[1])
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nlambda_dockerfile = fn/Dockerfile\nlambda_build_args = BASE=python:3.12-slim\n"
        "lambda_port = 9123\nlambda_handler = app.other\n"
    )
    monkeypatch.chdir(tmp_path / "fn")  # as pytest does, the ini file is found in a parent folder
    status, lines = lines_of("--no-build")
    assert status == 1  # no engine
    assert lines["dockerfile"].startswith(f"dockerfile: ok, {tmp_path / 'fn' / 'Dockerfile'} ")
    assert lines["base image python"].startswith("base image python:3.12-slim: ")
    assert "port 9123" in lines
    assert lines["handler"].startswith("handler: WARNING: app.other (--lambda-handler): named, not tried")
    _, lines = lines_of("--no-build", "--lambda-build-arg", "BASE=python:3.13-slim", "--port=0")
    assert lines["base image python"].startswith("base image python:3.13-slim: ") and "port 0" in lines


def test_a_taken_port_is_a_warning_with_the_fix(doctor):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        _, lines = doctor(CUSTOM, "--port", str(port))
    line = lines[f"port {port}"]
    assert line.startswith(f"port {port}: WARNING: taken on 127.0.0.1")
    assert "--lambda-port" in line
    _, lines = doctor(CUSTOM, "--port", str(port))
    assert lines[f"port {port}"] == f"port {port}: ok, free on 127.0.0.1"


# --- the Dockerfile reader and Docker's ENTRYPOINT/CMD rule, pure ---------------------------------------------


def test_stages_chain_to_the_final_images_root_and_build_args_reach_from_only_through_an_arg():
    text = 'ARG BASE=python:3.11\nFROM ${BASE} AS deps\nRUN pip install x\nFROM deps AS app\nCMD ["app.handler"]\n'
    root, chain = dockerfile_stages.parse(text).chain()
    assert root == "python:3.11" and [stage.name for stage in chain] == ["deps", "app"]
    assert dockerfile_stages.parse(text, {"BASE": "python:3.12"}).chain()[0] == "python:3.12"
    # As in Docker, a build arg no ARG declares never reaches FROM.
    assert dockerfile_stages.parse("FROM ${BASE}\n", {"BASE": "python:3.12"}).chain()[0] == ""


def test_an_entrypoint_clears_the_cmd_its_stage_did_not_set():
    base = ImageConfig(cmd=("python3",))

    def image(text: str) -> ImageConfig:
        return image_config.of_dockerfile(dockerfile_stages.parse(text).reading, base)

    entrypoint_only = image('FROM python:3.11\nENTRYPOINT ["python", "-m", "awslambdaric"]\n')
    assert (entrypoint_only.entrypoint, entrypoint_only.cmd) == (("python", "-m", "awslambdaric"), ())
    assert project_check.handler(entrypoint_only).status == "WARNING"
    # A CMD the stage set survives its ENTRYPOINT, in either order.
    assert image('FROM python:3.11\nCMD ["app.handler"]\nENTRYPOINT ["python", "-m", "awslambdaric"]\n').cmd == (
        "app.handler",
    )
    # A CMD-only image on a base whose config is known to have no entrypoint starts no runtime.
    text = 'FROM python:3.11\nCMD ["app.handler"]\n'
    check = project_check.runtime_start(dockerfile_stages.parse(text), Path("."), image(text))
    assert check.status == "MISSING" and "`app.handler` alone is no runtime" in check.detail


def test_the_doctors_trial_keeps_nothing_running_and_leaves_the_port_free(monkeypatch, tmp_path):
    from pytest_lambda_container.cli import trial
    from pytest_lambda_container.config.settings import Settings
    from pytest_lambda_container.errors import ConfigError

    seen: list[Settings] = []

    class Recorder:
        def __init__(self, settings: Settings, **_: object) -> None:
            seen.append(settings)

        def image(self) -> None:
            raise ConfigError("no image here")

        def close(self) -> None:
            seen.append(None)  # type: ignore[arg-type]

    monkeypatch.setattr(trial, "LambdaSession", Recorder)
    asked = Settings(rootdir=tmp_path, port=9000, keep=True, reuse=True, concurrency=4, memory=1024)
    checks, image = trial.trial(asked, lambda line: None)
    assert [c.line for c in checks] == ["image: MISSING: no image here"] and image is None
    used = seen[0]
    assert (used.port, used.keep, used.reuse, used.concurrency) == (0, False, False, 1)
    assert used.memory == 1024  # the rest is the run's
    assert seen[-1] is None  # closed


def test_the_event_takes_the_stage_and_payload_1_0(capsys, tmp_path, monkeypatch):
    """`event` takes `--lambda-stage` and ini `lambda_stage` (issue 20), and the `http-1.0` format."""
    (tmp_path / "pytest.ini").write_text("[pytest]\nlambda_stage = dev\n")
    monkeypatch.chdir(tmp_path)
    rest = event_of(capsys, "GET", "/x")
    assert (rest["requestContext"]["stage"], rest["requestContext"]["path"]) == ("dev", "/dev/x")
    v1 = event_of(capsys, "GET", "/x", "--format", "http-1.0", "--lambda-stage", "prod")
    assert (v1["version"], v1["path"], v1["requestContext"]["stage"]) == ("1.0", "/prod/x", "prod")
