"""A handler module with an import typo, as a newcomer makes one: the runtime cannot load it."""

import json
from json import dumsp  # the typo (dumps)


def handler(event, context):
    return json.loads(dumsp(event))
