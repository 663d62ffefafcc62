#!/bin/sh
# Stand-in for the /lambda-entrypoint.sh of AWS's Lambda base images, same logic:
# the handler is the one and only argument; without AWS_LAMBDA_RUNTIME_API (that
# is, outside Lambda) the runtime is started under the emulator, aws-lambda-rie.

if [ $# -ne 1 ]; then
  echo "entrypoint requires the handler name to be the first argument" 1>&2
  exit 142
fi
export _HANDLER="$1"

RUNTIME_ENTRYPOINT=/var/runtime/bootstrap
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie $RUNTIME_ENTRYPOINT
else
  exec $RUNTIME_ENTRYPOINT
fi
