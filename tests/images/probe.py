"""A handler that reports where and how it runs."""

import os


def handler(event, context):
    return {
        "cwd": os.getcwd(),
        "uid": os.getuid(),
        "from_entry_script": os.environ.get("FROM_ENTRY_SCRIPT"),
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "event": event,
    }


def other(event, context):
    return {"other": True}
