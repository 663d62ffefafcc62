"""`Settings` are valid by construction: however they are made, an invalid one cannot exist, so nothing downstream
(the deployed targets, the signer) checks them again."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_lambda_container import ConfigError, Settings

ROOT = Path(".")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"target": "url"}, "the url target needs the endpoint: give --lambda-url URL"),
        ({"target": "function"}, "the function target needs the function: give --lambda-function"),
        ({"url_auth": "iam"}, "--lambda-url-auth iam signs requests to --lambda-url, which is not given"),
        ({"target": "lambda"}, r"Settings\(target=...\): unknown target 'lambda'; choose one of container, inprocess"),
        ({"event_format": "soap"}, r"Settings\(event_format=...\): unknown event format 'soap'"),
        ({"url_auth": "basic", "url": "https://x.example.com"}, "unknown url auth 'basic'"),
        ({"port": 70000}, r"Settings\(port=...\): port 70000 is out of range"),
        ({"timeout": 0}, "timeout must be more than 0 seconds"),
        ({"timeout": 901}, "over Lambda's limit"),
        ({"memory": 64}, r"Settings\(memory=...\)"),
        ({"ephemeral_storage": 100}, r"Settings\(ephemeral_storage=...\)"),
        ({"cpus": 0.0}, "cpus 0.0 is out of range"),
        ({"function_name": "my function"}, "is not a Lambda function name"),
        ({"region": "Europe"}, "is not an AWS region"),
        ({"target": "url", "url": "not a url"}, r"Settings\(url=...\)"),
        ({"event_format": "http", "integration_timeout": 45.0}, "is over what the http front allows"),
    ],
)
def test_an_invalid_settings_cannot_be_made(fields, message):
    with pytest.raises(ConfigError, match=message):
        Settings(rootdir=ROOT, **fields)


def test_valid_settings_are_made_as_given():
    settings = Settings(rootdir=ROOT, target="url", url="https://x.example.com/prod", url_auth="iam", port=0)
    assert (settings.target, settings.url_auth, settings.port) == ("url", "iam", 0)
    assert Settings(rootdir=ROOT, target="function", function="fn", cpus=0.5).function == "fn"
