"""Request bodies as fronts pass them: text as a string, anything else base64-encoded."""

from __future__ import annotations

import base64


def encode_body(body: bytes) -> tuple[str | None, bool]:
    """`(body, isBase64Encoded)` for an event; None for an empty body."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True
