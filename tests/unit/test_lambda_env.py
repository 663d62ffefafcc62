"""Lambda's reserved environment variables, checked without Docker."""

from __future__ import annotations

import datetime

import pytest

from pytest_lambda_container import ConfigError
from pytest_lambda_container.config.environment import environment, parse_function_name, parse_region


def test_lambdas_reserved_variables_as_a_deployed_function_sees_them():
    env = environment("orders", "eu-west-1", today=datetime.date(2026, 11, 28), instance="ab" * 16)
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "orders"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/orders"
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"] == "2026/11/28/[$LATEST]" + "ab" * 16
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["TZ"] == ":UTC"
    assert "fake" in env["AWS_SECRET_ACCESS_KEY"] and env["AWS_SESSION_TOKEN"]
    assert "LAMBDA_TASK_ROOT" not in env


def test_each_container_has_its_own_log_stream():
    assert environment()["AWS_LAMBDA_LOG_STREAM_NAME"] != environment()["AWS_LAMBDA_LOG_STREAM_NAME"]


def test_function_names_and_regions_are_checked_naming_the_source():
    assert parse_function_name(" my-fn_1 ", "option --lambda-function-name") == "my-fn_1"
    with pytest.raises(ConfigError, match=r"^option --lambda-function-name: 'a b' is not a Lambda function name"):
        parse_function_name("a b", "option --lambda-function-name")
    assert parse_region("ap-southeast-2", "ini key lambda_region") == "ap-southeast-2"
    with pytest.raises(ConfigError, match=r"^ini key lambda_region: 'Mars' is not an AWS region"):
        parse_region("Mars", "ini key lambda_region")
