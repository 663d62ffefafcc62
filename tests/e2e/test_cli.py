"""The `event` command against real containers: its output, posted as is (curl, httpx), gets the app's answer."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys

import httpx
import pytest

from pytest_lambda_container import FORMATS, LambdaContainer
from pytest_lambda_container.cli.event import curl_command
from pytest_lambda_container.container.protocol import INVOKE_PATH

# One worker under xdist: each event is printed once (`event`, cached) and posted to both containers.
pytestmark = [pytest.mark.docker, pytest.mark.xdist_group("cli")]

EVENT = [sys.executable, "-m", "pytest_lambda_container", "event"]


@pytest.fixture(scope="module", params=["custom", "aws"])
def container(request, lambda_container, lambda_container_factory) -> LambdaContainer:
    """The example app's container, of each kind of image."""
    if request.param == "custom":
        return lambda_container
    return lambda_container_factory(dockerfile="example_app/Dockerfile.aws")


@functools.cache
def event(*argv: str) -> str:
    """The command's output for `argv`: run once, posted to each container (it does not depend on the container)."""
    return subprocess.run([*EVENT, *argv], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_the_printed_event_posted_with_httpx_gets_the_apps_answer(container, fmt):
    body = event("POST", "/test3", "--query", "message=hoge", "--format", fmt)
    result = httpx.post(container.url + INVOKE_PATH, content=body, timeout=60).json()
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"message": "hoge"}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_event_piped_to_curl_as_the_readme_says(container):
    line = (
        f'{sys.executable} -m pytest_lambda_container event POST /items --json \'{{"name": "pen", "price": 2}}\' '
        f"| curl -sS -d @- {container.url}{INVOKE_PATH}"
    )
    result = json.loads(subprocess.run(line, shell=True, capture_output=True, text=True, check=True).stdout)
    assert result["statusCode"] == 201
    assert json.loads(result["body"]) == {"created": {"name": "pen", "price": 2.0, "tags": []}, "total": 2.2}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_keep_hint_is_a_line_that_works(container):
    # The line --lambda-keep prints, run as a user pastes it (with this interpreter as `python`).
    line = curl_command(container.url).replace("python -m", f"{sys.executable} -m", 1)
    result = json.loads(subprocess.run(line, shell=True, capture_output=True, text=True, check=True).stdout)
    # The app has no `/` route: its own 404, i.e. Mangum took the event, routed it, and the app answered.
    assert result["statusCode"] == 404 and json.loads(result["body"]) == {"detail": "Not Found"}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_keep_hints_line_works_in_every_format(lambda_container):
    # On one container: each format's event reaching both kinds of image is the httpx test's, above.
    for fmt in FORMATS:
        line = curl_command(lambda_container.url, "POST", "/test3?message=hoge", fmt)
        line = line.replace("python -m", f"{sys.executable} -m", 1)
        result = json.loads(subprocess.run(line, shell=True, capture_output=True, text=True, check=True).stdout)
        assert json.loads(result["body"]) == {"message": "hoge"}, fmt
