"""The one mapping of engine failures to the plugin's errors (`engine.engine_errors`)."""

from __future__ import annotations

import pytest
import requests
from docker.errors import APIError, DockerException, NotFound

from pytest_lambda_container import ConfigError, EngineRefused, EngineUnavailable
from pytest_lambda_container.engine.client import engine_errors

ADDRESS = "unix:///var/run/docker.sock"


def _api_error(status: int, explanation: str) -> APIError:
    response = requests.Response()
    response.status_code = status
    return APIError("500 Server Error", response=response, explanation=explanation)


@pytest.mark.parametrize(
    ("raised", "expected", "message"),
    [
        (_api_error(409, "Conflict. The container name is in use"), EngineRefused, "refused the start of x: Conflict"),
        (NotFound("No such container: x"), EngineRefused, "refused the start of x: No such container"),
        (
            requests.exceptions.ConnectionError("Connection aborted"),
            EngineUnavailable,
            "stopped answering during the start of x",
        ),
        (requests.exceptions.ReadTimeout("timed out"), EngineUnavailable, "stopped answering during the start of x"),
        (DockerException("Error while fetching server API version"), EngineUnavailable, "stopped answering during"),
    ],
    ids=["api-error", "not-found", "connection", "timeout", "docker-exception"],
)
def test_every_engine_failure_maps_to_one_of_ours(raised, expected, message):
    with pytest.raises(expected) as info, engine_errors(ADDRESS, "the start of x"):
        raise raised
    assert str(info.value).startswith(f"the Docker engine at {ADDRESS} ")
    assert message in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no docker traceback underneath


def test_the_status_and_the_engines_own_words_are_kept():
    with pytest.raises(EngineRefused) as info, engine_errors(ADDRESS, "a build"):
        raise _api_error(409, "removal of container x is already in progress")
    assert info.value.status_code == 409 and info.value.reason == "removal of container x is already in progress"


def test_our_own_errors_and_others_pass_through():
    with pytest.raises(ConfigError), engine_errors(ADDRESS, "an inspection"):
        raise ConfigError("no such image")
    with pytest.raises(KeyError), engine_errors(ADDRESS, "an inspection"):
        raise KeyError("a bug is a bug")
