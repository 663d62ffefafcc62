"""The inprocess target: the handler imported and called in the test process, as Lambda's runtime would."""

from .function import InProcessFunction, load

__all__ = ["InProcessFunction", "load"]
