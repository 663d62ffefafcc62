"""The docker SDK loads without its SSH transport (and so without paramiko) unless an ssh:// engine may be meant
(engine/sdk.py, issue 17: ~0.2 s of every run that starts a container)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_lambda_container.engine.sdk import may_use_ssh

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("environ", "config", "expected"),
    [
        ({"DOCKER_HOST": "unix:///var/run/docker.sock"}, None, False),
        ({"DOCKER_HOST": "ssh://ci@builder"}, None, True),
        ({"DOCKER_HOST": "tcp://127.0.0.1:2375", "DOCKER_CONTEXT": "remote"}, None, False),  # DOCKER_HOST wins
        ({"DOCKER_CONTEXT": "remote"}, None, True),
        ({"DOCKER_CONTEXT": "default"}, None, False),
        ({}, None, False),
        ({}, {"currentContext": "remote"}, True),
        ({}, {"currentContext": "default"}, False),
        ({}, {"auths": {}}, False),
        ({}, "not json", False),
    ],
)
def test_an_ssh_engine_is_taken_as_possible_where_the_cli_might_reach_one(tmp_path, environ, config, expected):
    if config is not None:
        (tmp_path / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    assert may_use_ssh({**environ, "DOCKER_CONFIG": str(tmp_path)}) is expected


def run(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r})\n{code}"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT / "nonexistent"), **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


LOAD = "from pytest_lambda_container.engine import sdk\nsdk.load()\nimport docker\n"


def test_a_local_engine_loads_the_sdk_without_paramiko_which_stays_importable():
    pytest.importorskip("paramiko")  # without it there is nothing to leave out
    code = LOAD + (
        "print('paramiko' in sys.modules, sys.modules.get(sdk.SSH_TRANSPORT, 'gone'))\n"
        "import paramiko; sdk.with_ssh()\n"
        "import docker.api.client as c, docker.transport as t; print(c.SSHHTTPAdapter is t.SSHHTTPAdapter)"
    )
    assert run(code, DOCKER_HOST="unix:///nowhere").splitlines() == ["False gone", "True"]


def test_an_ssh_engine_loads_the_sdk_whole():
    pytest.importorskip("paramiko")
    assert (
        run(LOAD + "import docker.transport as t; print(hasattr(t, 'SSHHTTPAdapter'))", DOCKER_HOST="ssh://x") == "True"
    )


def test_the_collector_is_frozen_at_exit_once_the_sdk_is_loaded():
    # Registered before the load, this handler runs after the plugin's (atexit runs the last registered first).
    code = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "print('frozen before:', gc.get_freeze_count() > 0)\n" + LOAD
    )
    assert run(code, DOCKER_HOST="unix:///nowhere").splitlines() == ["frozen before: False", "frozen at exit: True"]


def test_httpx_loads_without_its_command_line():
    pytest.importorskip("click")  # httpx's command line starts with it: without it there is nothing to leave out
    code = LOAD + "import httpx\nprint('click' in sys.modules, 'httpx._main' in sys.modules, callable(httpx.main))"
    assert run(code, DOCKER_HOST="unix:///nowhere") == "False False True"


def test_what_exists_once_the_sdk_is_loaded_is_out_of_the_collectors_walks():
    code = (
        "import gc\nfrom pytest_lambda_container.engine import sdk\nbefore = gc.get_freeze_count()\n"
        "sdk.load({})\nimport docker.api.client\n"
        "assert gc.get_freeze_count() > before and gc.get_freeze_count() > 10000, gc.get_freeze_count()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_preload_imports_in_the_background_and_leaves_a_missing_module_to_its_user():
    # Run alone: this process has imported httpcore already.
    code = (
        "import threading\nfrom pytest_lambda_container.engine import sdk\n"
        "sdk.preload('no_such_module_here', 'httpcore')  # the first fails, silently\n"
        "sdk.preload('colorsys')\n"
        "for t in threading.enumerate():\n"
        "    t.name == 'lambda-container-preload' and t.join(30)\n"
        "print('httpcore' in sys.modules, 'colorsys' in sys.modules)"
    )
    assert run(code) == "True True"
