"""A handler's result as Lambda's Python runtime puts it on the wire, pure: what the in-process target returns is what
the container's runtime would have sent.

awslambdaric's `lambda_runtime_marshaller.py` (4.2.2, read from its wheel): `bytes` go out as they are (content type
`application/unknown`); anything else through simplejson's encoder with `use_decimal=False, allow_nan=True`, whose
`default` writes a `Decimal` as its own digits (a raw JSON number; a NaN Decimal as `NaN`), and with
`ensure_ascii=False` only when `AWS_EXECUTION_ENV` names Python 3.12 or later. simplejson's own defaults apply
besides: a namedtuple is an object, a tuple an array, a set is not serialisable. A failure is `Runtime.MarshalError`,
"Unable to marshal response: ...".

The response cap is the emulator's and Lambda's: more than `MAX_RESPONSE` bytes is `Function.ResponseSizeTooLarge`
(aws-lambda-runtime-interface-emulator internal/lambda/interop/model.go: `MaxPayloadSize = 6*1024*1024 + 100`), in the
words of the emulator the plugin runs (aws-sam-cli's build, measured: "Response payload size exceeded maximum allowed
payload size (6291556 bytes).") and of Lambda's own error; the emulator's newest source adds the size after "size".
"""

from __future__ import annotations

import decimal
import math
import sys
from collections.abc import Mapping
from typing import Any

import simplejson

from ..errors import FunctionError

#: 6 MiB + 100 bytes: the emulator's `interop.MaxPayloadSize`, Lambda's "(6291556 bytes)".
MAX_RESPONSE = 6 * 1024 * 1024 + 100
#: awslambdaric writes non-ASCII characters as themselves on these runtimes only (`\\uXXXX` escapes elsewhere).
UNESCAPED_RUNTIMES = frozenset(f"AWS_Lambda_python3.{minor}" for minor in (12, 13, 14, 15))


class _Encoder(simplejson.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            # simplejson's use_decimal would write a NaN Decimal as 'NaN' too, but '-NaN' for a negative one.
            return math.nan if o.is_nan() else simplejson.RawJSON(str(o))
        return super().default(o)


def execution_env(env: Mapping[str, str]) -> str:
    """The function's `AWS_EXECUTION_ENV`, or what AWS's base image of this Python sets (the in-process handler runs on
    the tests' Python)."""
    return env.get("AWS_EXECUTION_ENV") or f"AWS_Lambda_python{sys.version_info[0]}.{sys.version_info[1]}"


def marshal(result: Any, env: Mapping[str, str]) -> bytes:
    """The bytes the runtime posts for `result`; `FunctionError` as the runtime or the emulator reports it."""
    if isinstance(result, bytes):
        wire = result
    else:
        encoder = _Encoder(use_decimal=False, allow_nan=True, ensure_ascii=execution_env(env) not in UNESCAPED_RUNTIMES)
        try:
            wire = encoder.encode(result).encode("utf-8")
        except Exception as exc:  # awslambdaric's words, for whatever the encoder raises
            raise FunctionError("Runtime.MarshalError", f"Unable to marshal response: {exc}") from None
    if len(wire) > MAX_RESPONSE:
        raise FunctionError(
            "Function.ResponseSizeTooLarge",
            f"Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes).",
        )
    return wire
