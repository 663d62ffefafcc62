"""An exec's exit status waited for until the engine has recorded it (`settled_exit_code`): a loaded engine ends the
exec's output before it records the exit (https://github.com/moby/moby/issues/19607), and docker-py's `exec_run`
then returns None, which the start-up check read as 0: an image with no runtime passed its setup (issue 17)."""

from __future__ import annotations

import pytest

from pytest_lambda_container import ContainerError
from pytest_lambda_container.container.controls import settled_exit_code


def test_an_exit_not_recorded_yet_is_waited_for_not_taken_for_success():
    # What the engine answers just after the output of the start-up check's `exit 4` ended, then once it recorded it.
    answers = iter(
        [{"Running": True, "ExitCode": None}, {"Running": False, "ExitCode": None}, {"Running": False, "ExitCode": 4}]
    )
    assert settled_exit_code(lambda: next(answers)) == 4


def test_a_recorded_exit_is_taken_at_once():
    assert settled_exit_code(lambda: {"Running": False, "ExitCode": 0}) == 0


def test_an_exit_never_recorded_is_an_error_not_a_status():
    with pytest.raises(ContainerError, match="no exit status"):
        settled_exit_code(lambda: {"Running": True, "ExitCode": None}, wait=0.05)
