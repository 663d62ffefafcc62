"""Event builders, kept at their documented import path; they live in `fronts.events`."""

from ..fronts.events import *  # noqa: F403
from ..fronts.events import __all__ as __all__
