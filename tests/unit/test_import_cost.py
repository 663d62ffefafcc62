"""Cheap when unused (issue 17): every pytest start loads the plugin, so loading it (and a `--co` that starts nothing)
must not import docker, the HTTP stack, boto3 or uvicorn; they are imported where a test first needs them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from pytest_lambda_container.config.options import EVENT_FORMATS
from pytest_lambda_container.fronts.events import FORMATS

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("docker", "requests", "urllib3", "httpx", "httpcore", "boto3", "botocore", "uvicorn", "filelock")


def imported_after(
    code: str, cwd: Path = ROOT, heavy: tuple[str, ...] = HEAVY, env: dict[str, str] | None = None
) -> list[str]:
    probe = f"{code}\nimport sys\nprint('HEAVY:', *(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout.rpartition("HEAVY:")[2].split()


def test_importing_the_plugin_imports_nothing_heavy():
    assert imported_after("import pytest_lambda_container.plugin") == []


def test_the_package_names_stay_importable_on_first_use():
    code = "import pytest_lambda_container as p\nassert p.LambdaTransport.__name__ == 'LambdaTransport', p.FunctionPool"
    assert "httpx" in imported_after(code)


def test_a_collect_only_run_imports_nothing_heavy(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_x.py").write_text("def test_x(invoke):\n    pass\n")
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "import pytest\n"
        "assert pytest.main(['--co', '-q', '-p', 'no:cacheprovider', '-p', 'no:hypothesispytest']) == 0\n"
        "assert 'pytest_lambda_container.plugin' in sys.modules"
    )
    assert imported_after(code, cwd=tmp_path) == []


#: The plugin's own modules that only a container test (or a report header, a failure) needs: a `--co -q` of a
#: project configured as this repository is (a Dockerfile, a build network, binary types, env) imports none of them.
FOR_CONTAINERS = tuple(
    f"pytest_lambda_container.{m}"
    for m in (
        "fronts.events",
        "fronts.responses",
        "container.memwatch",
        "container.metrics",
        "engine.reach",
        "engine.sdk",
    )
)
CO_RUN = (
    f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
    "import pytest\n"
    "assert pytest.main(['--co', {verbosity}'-p', 'no:cacheprovider', '-p', 'no:hypothesispytest']) == 0\n"
    "assert 'pytest_lambda_container.plugin' in sys.modules"
)


def configured_project(folder: Path) -> Path:
    (folder / "pytest.ini").write_text(
        "[pytest]\nlambda_dockerfile = Dockerfile\nlambda_build_network = host\n"
        "lambda_binary_media_types = */*\nlambda_env =\n    APP_GREETING=hello\n"
    )
    (folder / "Dockerfile").write_text("FROM public.ecr.aws/lambda/python:3.11\n")
    (folder / "test_x.py").write_text("def test_x():\n    pass\n")
    return folder


def test_a_configured_collect_only_run_imports_none_of_the_container_modules(tmp_path):
    code = CO_RUN.format(verbosity="'-q', ")
    assert imported_after(code, cwd=configured_project(tmp_path), heavy=FOR_CONTAINERS + HEAVY) == []


def test_a_collect_only_run_asks_the_engine_nothing(tmp_path):
    """Even with its report header (which names the engine), a `--co` run never connects to the engine."""
    engine = socket.socket(socket.AF_UNIX)
    path = tmp_path / "engine.sock"
    engine.bind(str(path))
    engine.listen(8)
    engine.setblocking(False)
    try:
        env = {**os.environ, "DOCKER_HOST": f"unix://{path}"}
        imported_after(CO_RUN.format(verbosity=""), cwd=configured_project(tmp_path), env=env)
        try:
            connection, _ = engine.accept()
        except BlockingIOError:
            connection = None
        assert connection is None, "the collect-only run connected to the engine"
    finally:
        engine.close()


def test_the_event_format_choices_are_the_formats():
    """The options table writes the names out, so that it need not import the formats at every start."""
    assert tuple(FORMATS) == EVENT_FORMATS


def test_pytest_leaves_the_plugins_modules_to_plain_imports(tmp_path):
    """Not assertion-rewritten (pytest_lambda_container/__init__.py): under PYTHONDONTWRITEBYTECODE pytest would parse
    and compile every module of the plugin's distribution again at every start; nested runs do not warn."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_x.py").write_text(
        "import sys\n"
        "def test_x(pytester):\n"
        "    pytester.makepyfile(test_nested='def test_inner(): pass')\n"
        "    pytester.runpytest('-W', 'error::pytest.PytestAssertRewriteWarning').assert_outcomes(passed=1)\n"
        "    import pytest_lambda_container.plugin, pytest_lambda_container.collecting\n"
        "    # Its first module (the package) is pytest's to load: it takes the mark back (__init__.py).\n"
        "    loaders = {type(sys.modules[m].__loader__).__name__ for m in sys.modules\n"
        "               if m.startswith('pytest_lambda_container.')}\n"
        "    assert loaders == {'SourceFileLoader'}, loaders\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "pytester",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-W",
            "error::pytest.PytestAssertRewriteWarning",
            str(tmp_path / "test_x.py"),
            "--rootdir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
