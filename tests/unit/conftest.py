"""The unit tests run in any order (CI shuffles them with pytest-randomly), so each leaves the process as it found it:
a test that changes `os.environ`, `sys.path` or the working directory without undoing it fails, and the example app
is loaded per test, never imported into the process at collection."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLE_APP = Path(__file__).resolve().parents[2] / "example_app" / "app.py"


#: pytest's own: it names the test and phase running, so it differs between setup and teardown by design.
PYTEST_OWN = "PYTEST_CURRENT_TEST"


def _environ() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key != PYTEST_OWN}


def _changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    added = [f"+{key}" for key in after.keys() - before.keys()]
    removed = [f"-{key}" for key in before.keys() - after.keys()]
    changed = [f"~{key}" for key in before.keys() & after.keys() if before[key] != after[key]]
    return sorted(added + removed + changed)


@pytest.fixture(autouse=True)
def _leaves_the_process_as_it_found_it() -> Iterator[None]:
    # Autouse fixtures are set up first and torn down last: monkeypatch and pytester have undone their changes by the
    # time this looks. What a test leaves is put back, so one offender does not fail the tests after it too.
    environ, path, cwd = _environ(), list(sys.path), os.getcwd()
    yield
    left = []
    if changes := _changes(environ, _environ()):
        for key in changes:
            os.environ.pop(key[1:], None)
        os.environ.update(environ)
        left.append(f"os.environ changed: {', '.join(changes)} (use monkeypatch.setenv/delenv)")
    if sys.path != path:
        sys.path[:] = path
        left.append("sys.path changed (use monkeypatch.syspath_prepend)")
    if os.getcwd() != cwd:
        os.chdir(cwd)
        left.append("the working directory changed (use monkeypatch.chdir)")
    if left:
        pytest.fail("the test left the process changed: " + "; ".join(left), pytrace=False)


@pytest.fixture
def plain_python(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a target cannot do raised as plain Python raises it, `NotOnTarget` (under the plugin, which runs this
    suite, it is pytest's skip: a test expecting NotOnTarget would be skipped rather than fail)."""
    from pytest_lambda_container import errors

    monkeypatch.setattr(errors, "_under_pytest", None)


@pytest.fixture
def example_app() -> ModuleType:
    """example_app/app.py, loaded afresh for this test under a name of its own: no `sys.path` entry, no `app` module
    left in `sys.modules` for a later in-process import of another `app.py` to find."""
    spec = importlib.util.spec_from_file_location("example_app_under_test", EXAMPLE_APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
