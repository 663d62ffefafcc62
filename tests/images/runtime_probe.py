"""What Lambda's Python runtime makes of a handler's result and gives it as context: the same on every target."""

import collections
import decimal
import os

Point = collections.namedtuple("Point", "x y")
HERE = os.path.dirname(os.path.abspath(__file__))
CWD_AT_IMPORT = os.getcwd()


def handler(event, context):
    give = event.get("give")
    if give == "bytes":
        return b'{"raw": true}'
    if give == "big":
        return "x" * event["size"]
    if give == "set":
        return {1, 2}
    return {
        "decimal": decimal.Decimal("19.90"),
        "integer": decimal.Decimal("3"),
        "point": Point(1, 2),
        "text": "\u00e9",
        "memory": context.memory_limit_in_mb,
        "identity": [
            type(context.identity).__name__,
            context.identity.cognito_identity_id,
            context.identity.cognito_identity_pool_id,
        ],
        "client_context": None if context.client_context is None else context.client_context.custom,
        "tenant_id": context.tenant_id,
        "logs": callable(context.log),
        "in_task_root": [CWD_AT_IMPORT == HERE, os.getcwd() == HERE],
    }
