"""What a target cannot do, under pytest: pytest's own skip, so that `except Exception` in a test cannot swallow it.

pytest's skip derives from BaseException for this very reason (a test's `except Exception` must not turn a skip into
a pass or a failure): `with pytest.raises(Exception): lambda_container.invoke_event(...)` on the `url` target skips.
In plain Python the same calls raise `NotOnTarget`, a `LambdaContainerError` (errors.py, `not_on_target`).
"""

from __future__ import annotations

from typing import Optional

import pytest

from . import errors

#: The factory `not_on_target` used before this run's (Optional: the stash key is evaluated at run time, on 3.9).
_KEY = pytest.StashKey[Optional[errors.SkipFactory]]()


class NotOnTargetSkip(pytest.skip.Exception):  # type: ignore[misc,name-defined]
    """`NotOnTarget` under pytest: a skip with the reason, reported at the test's own location; `.target` as
    `NotOnTarget.target`."""

    def __init__(self, message: str, target: str = "") -> None:
        super().__init__(message, _use_item_location=True)
        #: The target the run uses (container, inprocess, url, function).
        self.target = target


def install(config: pytest.Config) -> None:
    """From now on, what a target cannot do is pytest's skip (the factory before is kept for `uninstall`: pytester
    runs pytest inside pytest)."""
    config.stash[_KEY] = errors.raise_under_pytest(NotOnTargetSkip)


def uninstall(config: pytest.Config) -> None:
    """Back to what it was before `install`."""
    if _KEY in config.stash:
        errors.raise_under_pytest(config.stash[_KEY])
