"""How long a front waits for the function: pure, and without the HTTP stack (the settings check it at every pytest
start; the transport applies it to each call)."""

from __future__ import annotations

from ..errors import ConfigError
from .events import EventFormat


def integration_cap(fmt: EventFormat, integration_timeout: float | None = None) -> float | None:
    """How long the front `fmt` waits for the function (its own integration timeout, or `integration_timeout`; None:
    the function's own timeout); a `ConfigError` for a value past what the front allows."""
    if fmt.integration_timeout is None:
        return None
    wanted = fmt.integration_timeout if integration_timeout is None else integration_timeout
    limit = fmt.max_integration_timeout
    if limit is not None and wanted > limit:
        raise ConfigError(
            f"integration timeout {wanted:g}s is over what the {fmt.name} front allows ({limit:g}s; AWS cannot "
            f"raise it): lower --lambda-integration-timeout / ini lambda_integration_timeout to {limit:g} or less"
        )
    return wanted
