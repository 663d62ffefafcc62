"""Run a handler in this process behind the same `invoke_event` contract as a container (for fast unit tests)."""

from __future__ import annotations

import asyncio
import json
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import FunctionError
from .protocol import function_error

Handler = Callable[[Any, Any], Any]


@dataclass
class FakeContext:
    """The parts of the Lambda context object handlers commonly read."""

    function_name: str = "function"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:function"
    memory_limit_in_mb: int = 128
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/function"
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def _ensure_event_loop() -> None:
    # Mangum drives the app with asyncio.get_event_loop(): a worker thread (AsyncLambdaTransport) has none, and
    # an async test framework may have closed the main thread's. The Lambda runtime always has one.
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        asyncio.set_event_loop(asyncio.new_event_loop())


class InProcessFunction:
    """`handler(event, context)` called directly; events and results pass through JSON as they would on the wire,
    and an exception becomes the `FunctionError` the runtime would report."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def invoke_event(self, event: Any) -> Any:
        wire_event = json.loads(json.dumps(event))
        _ensure_event_loop()
        try:
            result = self.handler(wire_event, FakeContext())
        except Exception as exc:
            stack = traceback.format_list(traceback.extract_tb(exc.__traceback__))
            raise FunctionError(type(exc).__name__, str(exc), stack) from exc
        result = json.loads(json.dumps(result))
        error = function_error(result)
        if error is not None:
            raise error
        return result
