"""A handler module that cannot import: `jsonn` is a typo of `json`."""

import jsonn  # noqa: F401


def handler(event, context):
    return {}
