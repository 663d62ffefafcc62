"""The image model: what an image runs (ENTRYPOINT, CMD, SHELL, ENV, WORKDIR), from the engine or read from a
Dockerfile, with Docker's rules (https://docs.docker.com/reference/dockerfile/#understand-how-cmd-and-entrypoint-interact)."""

from __future__ import annotations

import pytest

from pytest_lambda_container.build import dockerfile
from pytest_lambda_container.build.image_config import AWS_BASE, ImageConfig, of_dockerfile

PYTHON_BASE = ImageConfig(cmd=("python3",), env={"PATH": "/usr/local/bin:/usr/bin", "LANG": "C.UTF-8"})


def config(text: str, base: ImageConfig | None = None, **build_args: str) -> ImageConfig:
    return of_dockerfile(dockerfile.read(text, build_args), base)


def test_the_exec_form_starts_the_runtime_client_with_cmd_as_handler():
    image = config('FROM python:3.11\nENTRYPOINT ["/usr/local/bin/python", "-m", "awslambdaric"]\nCMD ["app.handler"]')
    assert image.argv == ("/usr/local/bin/python", "-m", "awslambdaric", "app.handler")
    assert image.starts_runtime_client and image.interpreter == "/usr/local/bin/python"
    assert image.handler == "app.handler" and not image.runs_emulator


@pytest.mark.parametrize(
    ("text", "handler"),
    [
        ('FROM python:3.11\nENTRYPOINT ["python3", "-m", "awslambdaric", "app.h"]\n', "app.h"),
        ('FROM python:3.11\nCMD ["python3", "-m", "awslambdaric", "app.h"]\n', "app.h"),
        ("FROM python:3.11\nENTRYPOINT exec python3 -m awslambdaric 'app.h'\n", "app.h"),
        ('FROM python:3.11\nENTRYPOINT ["sh", "-c", "cd /fn && python3 -m awslambdaric app.h"]\n', "app.h"),
        # A shell-form ENTRYPOINT ignores CMD: it becomes the script's $0, and the runtime gets no handler.
        ('FROM python:3.11\nENTRYPOINT python3 -m awslambdaric\nCMD ["app.h"]\n', None),
        ('FROM python:3.11\nENTRYPOINT ["sh", "-c", "exec python3 -m awslambdaric \\"$0\\""]\n', None),
        # An entrypoint script passes its arguments on (`exec python -m awslambdaric "$@"`): CMD's first word.
        ('FROM python:3.11\nENTRYPOINT ["/entry.sh"]\nCMD ["app.h"]\n', "app.h"),
    ],
    ids=["in-entrypoint", "in-cmd", "shell-form", "written-out-shell", "shell-form-ignores-cmd", "variable", "script"],
)
def test_the_handler_is_the_one_the_runtime_gets_from_either_form(text, handler):
    image = config(text, PYTHON_BASE)
    assert image.handler == handler
    assert image.starts_runtime_client == ("entry.sh" not in text)


def test_the_shell_form_runs_under_the_shell_of_the_last_shell_instruction():
    text = 'FROM python:3.11\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\n'
    text += "ENTRYPOINT exec python3.12 -m awslambdaric a.b\n"
    image = config(text)
    assert image.entrypoint == ("/bin/bash", "-o", "pipefail", "-c", "exec python3.12 -m awslambdaric a.b")
    assert image.shell == ("/bin/bash", "-o", "pipefail", "-c")
    assert (image.handler, image.interpreter) == ("a.b", "python3.12")


def test_a_shell_form_cmd_gives_the_runtime_the_shell_not_the_handler():
    image = config("FROM public.ecr.aws/lambda/python:3.11\nCMD app.handler\n")
    assert image.cmd == ("/bin/sh", "-c", "app.handler") and image.cmd_is_shell_form
    assert image.handler == "/bin/sh"


def test_an_entrypoint_clears_the_cmd_it_inherits_not_the_one_its_stage_sets():
    assert config('FROM python:3.11\nENTRYPOINT ["/e"]\n', PYTHON_BASE).cmd == ()
    assert config('FROM python:3.11\nCMD ["a.b"]\nENTRYPOINT ["/e"]\n', PYTHON_BASE).cmd == ("a.b",)
    # A later stage's ENTRYPOINT clears the CMD of the stage it is built FROM.
    text = 'FROM python:3.11 AS base\nCMD ["a.b"]\nFROM base\nENTRYPOINT ["/e"]\n'
    assert config(text, PYTHON_BASE).cmd == ()


def test_aws_base_images_by_their_config_or_else_by_name():
    # https://docs.aws.amazon.com/lambda/latest/dg/images-create.html: the AWS base images' /lambda-entrypoint.sh
    by_name = config('FROM public.ecr.aws/lambda/python:3.11\nCMD ["app.handler"]\n')
    assert by_name.runs_emulator and not by_name.known
    assert (by_name.import_root, by_name.handler) == ("/var/task", "app.handler")
    # An image built FROM an AWS base image under another name is one too, by its entrypoint.
    company = ImageConfig.from_engine({"Entrypoint": ["/lambda-entrypoint.sh"], "Env": ["LAMBDA_TASK_ROOT=/code"]})
    image = config('FROM registry.example/lambda-python\nCMD ["app.handler"]\n', company)
    assert image.runs_emulator and image.known and image.import_root == "/code"
    # An ENTRYPOINT of the Dockerfile's own replaces the AWS one: a custom image.
    custom = config('FROM amazon/aws-lambda-python:3.11\nENTRYPOINT ["python", "-m", "awslambdaric"]\n')
    assert not custom.runs_emulator and custom.import_root == "/var/task"  # the AWS base's WORKDIR
    assert config("FROM python:3.11\n").known is False and not config("FROM scratch\n").runs_emulator


def test_env_takes_args_the_base_images_env_and_the_values_before_it():
    text = "FROM python:3.11\nARG APP=fn\nENV ROOT=/$APP PATH=/$APP/bin:$PATH\nENV ROOT=/other OLD=$ROOT\n"
    image = config(text, PYTHON_BASE)
    assert image.env == {
        "PATH": "/fn/bin:/usr/local/bin:/usr/bin",
        "LANG": "C.UTF-8",
        "ROOT": "/other",
        "OLD": "/fn",  # Docker fills a whole ENV line from the values before it
    }
    assert config(text, PYTHON_BASE, APP="svc").env["OLD"] == "/svc"
    assert config("FROM python:3.11\nENV GREETING hello world\n").env == {"GREETING": "hello world"}


def test_workdir_is_relative_to_the_one_before_and_filled_from_env():
    text = "FROM python:3.11\nENV BASE=/srv\nWORKDIR $BASE\nWORKDIR app/../fn\nUSER ${NOBODY:-1000}\n"
    image = config(text)
    assert (image.workdir, image.import_root, image.user) == ("/srv/fn", "/srv/fn", "1000")
    assert config("FROM python:3.11\n").import_root == "/"


def test_the_final_stage_inherits_what_its_parents_set_and_ignores_other_stages():
    text = (
        "FROM python:3.11 AS deps\nENV A=1\nWORKDIR /deps\n"
        'FROM python:3.11 AS other\nENTRYPOINT ["/other"]\nENV B=2\n'
        'FROM deps\nENV C=$A\nENTRYPOINT ["python", "-m", "awslambdaric"]\nCMD ["app.handler"]\n'
    )
    image = config(text)
    assert image.env == {"A": "1", "C": "1"} and image.workdir == "/deps"
    assert image.entrypoint == ("python", "-m", "awslambdaric") and image.handler == "app.handler"


def test_the_engines_config_is_read_as_docker_keeps_it():
    image = ImageConfig.from_engine(
        {"Entrypoint": None, "Cmd": ["python3"], "Env": ["A=1=2", "B="], "WorkingDir": "", "Shell": ["/bin/ash", "-c"]}
    )
    assert image == ImageConfig(cmd=("python3",), env={"A": "1=2", "B": ""}, shell=("/bin/ash", "-c"))
    assert ImageConfig.from_engine(None) == ImageConfig()


RIC = ("python", "-m", "awslambdaric")
SHELL_FORM = ("/bin/sh", "-c", "python -m awslambdaric a.b")


@pytest.mark.parametrize(
    ("image", "handler", "expected"),
    [
        (ImageConfig(entrypoint=RIC, cmd=("a.b",)), "c.d", (RIC, ("c.d",))),
        (ImageConfig(entrypoint=(*RIC, "a.b")), "c.d", ((*RIC, "c.d"), ())),
        (ImageConfig(cmd=(*RIC, "a.b", "-v")), "c.d", ((), (*RIC, "c.d", "-v"))),
        (AWS_BASE, "c.d", (("/lambda-entrypoint.sh",), ("c.d",))),
        (ImageConfig(entrypoint=SHELL_FORM), "c.d", (SHELL_FORM, ("c.d",))),
        (ImageConfig(entrypoint=("/e",), cmd=("a.b",)), None, (("/e",), ("a.b",))),
    ],
    ids=["as-cmd", "in-entrypoint", "in-cmd", "aws", "shell-form-as-docker-run", "none"],
)
def test_a_handler_given_goes_where_the_runtime_takes_it(image, handler, expected):
    assert image.command(handler) == expected
