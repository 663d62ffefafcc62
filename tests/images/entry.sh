#!/bin/sh
# An entrypoint script, as many company images have: set things up, then exec the runtime.
export FROM_ENTRY_SCRIPT=yes
exec /usr/local/bin/python -m awslambdaric "$@"
