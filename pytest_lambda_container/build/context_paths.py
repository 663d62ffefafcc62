"""COPY/ADD sources as Docker matches them against the context: cleaned to the context's root, wildcards as Go's
`filepath.Match` reads them (https://pkg.go.dev/path/filepath#Match)."""

from __future__ import annotations

import posixpath
import re

_WILDCARD = re.compile(r"[*?\[\\]")


def clean_source(source: str) -> str:
    """A COPY source as Docker takes it: relative to the context root, `..` unable to leave it; "" is the root."""
    return posixpath.normpath("/" + source).lstrip("/")


def go_match(pattern: str) -> re.Pattern[str] | None:
    """A regex for one path component of a Go `filepath.Match` pattern (`*`, `?`, `[a-z]`, `[^a]`, `\\x`),
    the matching COPY sources use; None for a malformed pattern (Docker refuses those)."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            if i + 1 >= len(pattern):
                return None
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("^", "]") else i + 1)
            if end < 0:
                return None
            body = pattern[i + 1 : end]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\").replace("[", "\\[") + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out) + r"\Z")
    except re.error:
        return None


def is_pattern(source: str) -> bool:
    """True when a COPY source holds wildcards."""
    return bool(_WILDCARD.search(source))
