"""Request bodies as fronts pass them, and the media-type rules that decide between text and base64."""

from __future__ import annotations

import base64
from collections.abc import Iterable

#: Types every base64-unless-textual front passes as text. ALB's documentation lists them ("text/*,
#: application/json, application/javascript, and application/xml"); captured HTTP API and Function URL events
#: (2026) pass the same as text, and their `+json`/`+xml` forms, while a form, multipart, octet-stream or a missing
#: content type arrives base64-encoded.
#: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html
TEXTUAL = frozenset({"application/json", "application/javascript", "application/xml"})


def media_type(content_type: str | None) -> str:
    """`type/subtype` of a Content-Type or Accept value, lower-cased, without parameters ("" when absent)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_textual(content_type: str | None) -> bool:
    """Whether a body of this Content-Type travels as text in payload 2.0 and ALB events."""
    kind = media_type(content_type)
    return kind.startswith("text/") or kind in TEXTUAL or kind.endswith(("+json", "+xml"))


def binary_unless_textual(content_type: str | None, content_encoding: str | None) -> bool:
    """Whether payload 2.0 and ALB base64-encode a request body: an encoded (e.g. gzip) body, or one not textual."""
    return bool(content_encoding) or not is_textual(content_type)


def matches_media_types(value: str | None, patterns: Iterable[str]) -> bool:
    """Whether a media type matches one of a REST API's `binaryMediaTypes` (`image/*` or exact); `*/*` "includes all
    content types", a missing one too."""
    kind = media_type(value)
    main = kind.partition("/")[0]
    for pattern in patterns:
        wanted = media_type(pattern)
        if wanted == "*/*" or (kind and wanted in (kind, f"{main}/*")):
            return True
    return False


def first_accept(accept: str | None) -> str | None:
    """The first media type of an Accept header: what API Gateway judges a binary response by."""
    if not accept:
        return None
    return accept.split(",", 1)[0].strip() or None


def encode_body(body: bytes, *, binary: bool) -> tuple[str | None, bool]:
    """`(body, isBase64Encoded)` for an event; None for an empty body.

    `binary` bodies are base64-encoded whatever they hold; the others are passed as UTF-8 text, so bytes that are
    not UTF-8 arrive with replacement characters, as a REST API without a matching binary media type mangles them.
    """
    if not body:
        return None, False
    if binary:
        return base64.b64encode(body).decode("ascii"), True
    return body.decode("utf-8", errors="replace"), False
