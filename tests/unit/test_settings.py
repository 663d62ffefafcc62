"""Option resolution (`settings.resolve`): CLI over ini over default, each option's own parsing and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_lambda_container import ConfigError
from pytest_lambda_container.config.function import FunctionSpec
from pytest_lambda_container.config.options import OPTIONS, Option, Origin
from pytest_lambda_container.config.settings import Settings, as_json, from_json, resolve


def settings(root: Path, cli: dict[str, Any] | None = None, ini: dict[str, Any] | None = None, **kw: Any) -> Settings:
    """Resolve as the plugin does: `cli` by option name, `ini` by ini key."""
    cli, ini = cli or {}, ini or {}
    return resolve(
        root,
        cli=lambda opt: cli.get(opt.name),
        ini=lambda opt: opt.ini_value(lambda key: ini.get(key, "")),
        **kw,
    )


def test_defaults(tmp_path):
    s = settings(tmp_path)
    assert (s.port, dict(s.env), dict(s.build_args), s.handler, s.event_format, s.timeout) == (
        9000,
        {},
        {},
        None,
        "rest",
        300.0,
    )
    assert (s.dockerfile_path, s.context_path, s.build_network, s.image, s.keep) == (
        tmp_path / "Dockerfile",
        tmp_path,
        None,
        None,
        False,
    )


def test_ini_values_and_paths_relative_to_the_rootdir(tmp_path):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "Dockerfile.lambda").write_text("FROM scratch\n")
    s = settings(
        tmp_path,
        ini={
            "lambda_dockerfile": "fn/Dockerfile.lambda",
            "lambda_port": "9100",
            "lambda_env": ["A=1", "B=two words", "# a comment", ""],
            "lambda_build_args": ["PY=3.11"],
            "lambda_handler": "app.other",
            "lambda_event_format": "http",
            "lambda_timeout": "7",
            "lambda_keep": "yes",
        },
    )
    assert s.dockerfile_path == tmp_path / "fn" / "Dockerfile.lambda" and s.context_path == tmp_path / "fn"
    assert (s.port, dict(s.env), dict(s.build_args)) == (9100, {"A": "1", "B": "two words"}, {"PY": "3.11"})
    assert (s.handler, s.event_format, s.timeout, s.keep) == ("app.other", "http", 7.0, True)


def test_cli_wins_over_ini_and_cli_paths_start_where_pytest_runs(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "Dockerfile.x").write_text("FROM scratch\n")
    s = settings(
        tmp_path,
        cli={"port": "0", "env": ["A=cli", "C=3"], "image": "cli:2", "dockerfile": "Dockerfile.x"},
        ini={"lambda_port": "9100", "lambda_env": ["A=from-ini"], "lambda_image": "from-ini:1"},
        invocation_dir=tmp_path / "sub",
    )
    assert (s.port, dict(s.env), s.image) == (0, {"A": "cli", "C": "3"}, "cli:2")
    assert s.dockerfile_path == tmp_path / "sub" / "Dockerfile.x"


@pytest.mark.parametrize(
    ("cli", "ini", "expected"),
    [
        ({"env": ["NOEQUALS"]}, {}, "option --lambda-env: 'NOEQUALS' is not KEY=VALUE"),
        ({"build_arg": ["=x"]}, {}, "option --lambda-build-arg: '=x' is not KEY=VALUE"),
        ({}, {"lambda_env": ["1BAD=x"]}, "ini key lambda_env: '1BAD=x' is not KEY=VALUE"),
        ({"port": "abc"}, {}, "option --lambda-port: port 'abc' is not a number"),
        ({"port": "70000"}, {}, "option --lambda-port: port 70000 is out of range"),
        ({}, {"lambda_port": "-1"}, "ini key lambda_port: port -1 is out of range"),
        ({"timeout": "0"}, {}, "option --lambda-timeout: timeout must be more than 0"),
        ({"timeout": "inf"}, {}, "option --lambda-timeout: timeout 'inf' is over Lambda's limit of 900"),
        ({}, {"lambda_timeout": "nan"}, "ini key lambda_timeout: timeout must be more than 0 seconds, not 'nan'"),
        ({}, {"lambda_keep": "maybe"}, "ini key lambda_keep: 'maybe' is not true or false"),
        (
            {"event_format": "soap"},
            {},
            "option --lambda-event-format: unknown event format 'soap'; choose one of rest, http",
        ),
        ({"dockerfile": "nope/Dockerfile"}, {}, "no Dockerfile at "),
        ({"sandbox": "maybe"}, {}, "option --lambda-sandbox: 'maybe' is neither on nor off"),
        ({}, {"lambda_memory": "64"}, "ini key lambda_memory: memory 64 MB is out of Lambda's range; give a whole"),
        ({"memory": "10241"}, {}, "option --lambda-memory: memory 10241 MB is out of Lambda's range"),
        ({"memory": "lots"}, {}, "option --lambda-memory: memory 'lots' is not a number"),
        ({"ephemeral_storage": "256"}, {}, "option --lambda-ephemeral-storage: ephemeral storage 256 MB is out of"),
        ({}, {"lambda_ephemeral_storage": "20000"}, "ini key lambda_ephemeral_storage: ephemeral storage 20000 MB"),
        ({"cpus": "0"}, {}, "option --lambda-cpus: cpus '0' is out of range"),
    ],
)
def test_a_bad_value_names_where_it_came_from(tmp_path, cli, ini, expected):
    with pytest.raises(ConfigError) as info:
        settings(tmp_path, cli, ini)
    assert str(info.value).startswith(expected)


def test_the_sandbox_is_on_by_default_with_lambdas_defaults(tmp_path):
    s = settings(tmp_path)
    assert (s.sandbox, s.memory, s.ephemeral_storage, s.cpus) == (True, 512, 512, None)
    assert s.limits.enabled and s.limits.memory == 512


def test_the_sandbox_options_from_cli_and_ini(tmp_path):
    s = settings(tmp_path, cli={"memory": "1024", "cpus": "0.5"}, ini={"lambda_sandbox": "off", "lambda_memory": "256"})
    assert (s.sandbox, s.memory, s.cpus) == (False, 1024, 0.5)
    assert not s.limits.enabled
    assert settings(tmp_path, ini={"lambda_ephemeral_storage": "2048"}).ephemeral_storage == 2048


def test_the_function_name_and_region(tmp_path):
    s = settings(tmp_path)
    assert (s.function_name, s.region) == ("function", "us-east-1")
    s = settings(tmp_path, cli={"function_name": "orders"}, ini={"lambda_region": "eu-west-1"})
    environment = FunctionSpec().resolve(s).environment()
    assert (environment["AWS_LAMBDA_FUNCTION_NAME"], environment["AWS_REGION"]) == ("orders", "eu-west-1")


def test_each_option_has_its_own_parser(tmp_path):
    # A new option of an existing type must not inherit another's validation (a port's range, a timeout's limit):
    # each of the two number options takes what the other refuses.
    by_name = {opt.name: opt for opt in OPTIONS}
    port, timeout, source = by_name["port"], by_name["timeout"], Origin("option --lambda-x", tmp_path)
    assert port.parse("65535", source, port) == 65535
    with pytest.raises(ConfigError, match="over Lambda's limit"):
        timeout.parse("65535", source, timeout)
    assert timeout.parse("0.5", source, timeout) == 0.5
    with pytest.raises(ConfigError, match=r"port '0\.5' is not a number"):
        port.parse("0.5", source, port)
    assert by_name["event_format"].choices == ("rest", "http", "http-1.0", "function-url", "alb", "alb-multi")
    assert all(isinstance(opt, Option) and opt.help for opt in OPTIONS)


def test_an_explicit_dockerfile_is_checked_at_once_the_default_only_when_needed(tmp_path):
    assert settings(tmp_path).dockerfile is None  # no Dockerfile, and no complaint: other tests can still run
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ConfigError, match=r"build context .* is not a directory"):
        settings(tmp_path, {"context": "missing"})


@pytest.mark.parametrize(
    ("timeout", "message"), [(0, "must be more than 0"), (5000, "over Lambda's limit of 900"), ("x", "not a number")]
)
def test_a_factory_timeout_is_checked_as_the_options_one_is(tmp_path, timeout, message):
    from pytest_lambda_container import FunctionSpec

    with pytest.raises(ConfigError, match=rf"lambda_container_factory\(timeout=\.\.\.\): .*{message}"):
        FunctionSpec.of(tmp_path, timeout=timeout)
    assert FunctionSpec.of(tmp_path, timeout="2.5", dockerfile="fn/Dockerfile") == FunctionSpec(
        dockerfile=tmp_path / "fn" / "Dockerfile", timeout=2.5
    )


@pytest.mark.parametrize(
    ("endpoint", "function"),
    [
        ("http://127.0.0.1:9000/2015-03-31/functions/function/invocations", "function"),
        ("http://127.0.0.1:9000/2015-03-31/functions/function/invocations/", "function"),
    ],
)
def test_at_the_emulators_invoke_url_the_function_target_calls_its_one_function(tmp_path, endpoint, function):
    # aws-lambda-rie serves one function, `function`, at this path (issue 21, item 7).
    s = settings(tmp_path, cli={"target": "function", "endpoint_url": endpoint})
    assert s.function == function
    named = settings(tmp_path, cli={"target": "function", "endpoint_url": endpoint, "function": "mine"})
    assert named.function == "mine"


@pytest.mark.parametrize(
    "endpoint",
    [None, "http://localhost:4566", "http://127.0.0.1:9000/2015-03-31/functions/other/invocations"],
    ids=["aws", "localstack", "another-function"],
)
def test_any_other_endpoint_still_needs_the_functions_name(tmp_path, endpoint):
    cli = {"target": "function", **({"endpoint_url": endpoint} if endpoint else {})}
    with pytest.raises(ConfigError, match=r"needs the function: .*for aws-lambda-rie, give its invoke URL"):
        settings(tmp_path, cli=cli)


def test_settings_come_back_whole_from_the_json_the_forecast_remembers(tmp_path):
    given = Settings(
        rootdir=tmp_path,
        dockerfile=tmp_path / "Dockerfile",
        build_args={"A": "1"},
        env={"KEY": "value"},
        binary_media_types=("image/png",),
        cors_allow_origins=("*",),
        event_format="http",
        cpus=1.5,
        timeout=7,
    )
    back = from_json(json.loads(json.dumps(as_json(given))))
    assert back == given
    assert isinstance(back.rootdir, Path) and back.context is None and back.binary_media_types == ("image/png",)


def test_remembered_settings_another_version_wrote_or_that_no_longer_hold_are_refused(tmp_path):
    remembered = as_json(Settings(rootdir=tmp_path))
    with pytest.raises(ValueError, match="fields differ"):
        from_json({**remembered, "retired_option": 1})
    with pytest.raises(ValueError, match="fields differ"):
        from_json({k: v for k, v in remembered.items() if k != "image"})
    with pytest.raises(ConfigError):
        from_json({**remembered, "timeout": -1})
    for wrong in ({"env": None}, {"binary_media_types": "image/png"}, {"rootdir": 1}):
        with pytest.raises(ValueError):
            from_json({**remembered, **wrong})
