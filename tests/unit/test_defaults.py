"""The shared numbers (config/defaults.py) are the ones every module uses: the defaults of the port and the timeout,
and the margins each caller waits past a function's timeout."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_lambda_container import ConfigError, LambdaContainer, Settings
from pytest_lambda_container.config import defaults
from pytest_lambda_container.config.options import OPTIONS
from pytest_lambda_container.config.values import parse_timeout
from pytest_lambda_container.inprocess import InProcessFunction
from pytest_lambda_container.targets import Endpoint, UrlTarget


def test_the_settings_and_the_options_help_give_the_same_defaults() -> None:
    settings = Settings(rootdir=Path("."))
    assert (settings.port, settings.timeout) == (defaults.DEFAULT_PORT, defaults.DEFAULT_TIMEOUT) == (9000, 300)
    helps = {option.name: option.help for option in OPTIONS}
    assert "(default 9000;" in helps["port"] and "(default 300)" in helps["timeout"]


def test_the_in_process_function_has_the_same_default_timeout() -> None:
    function = InProcessFunction(lambda event, context: event)
    try:
        assert function.timeout == defaults.DEFAULT_TIMEOUT
    finally:
        function.close()


def test_a_timeout_over_lambdas_limit_is_refused() -> None:
    assert parse_timeout(str(defaults.MAX_TIMEOUT), "--lambda-timeout") == 900
    with pytest.raises(ConfigError, match="over Lambda's limit of 900 seconds"):
        parse_timeout("901", "--lambda-timeout")


def test_the_container_waits_its_margin_past_the_functions_timeout() -> None:
    plan = SimpleNamespace(timeout=3.0)  # all the handle reads of its plan before it starts
    function = LambdaContainer(engine=None, plan=plan)  # type: ignore[arg-type]
    with function._new_client() as client:
        timeout = client.timeout
        assert (timeout.read, timeout.connect) == (3.0 + defaults.EMULATOR_MARGIN, defaults.LOOPBACK_CONNECT)


def test_a_deployed_url_is_waited_for_as_long_as_a_deployed_function() -> None:
    settings = Settings(rootdir=Path("."), target="url", url="https://example.invalid/prod", timeout=20)
    assert settings.url is not None
    with UrlTarget(settings).client(Endpoint(settings.url)) as client:
        assert client.timeout.read == 20 + defaults.DEPLOYED_MARGIN
