"""What each front makes of a function's result, kept at its documented import path (`fronts.responses`)."""

from .fronts.responses import *  # noqa: F403
from .fronts.responses import ERROR_RESPONSES as ERROR_RESPONSES
