#!/usr/bin/env bash
# Set up a clone for working on pytest-lambda-container, then run the example app's suite (README: "Developing this
# project"). Each step is idempotent:
#   1. .venv with the project installed editable, with its test tools (the [test] extra: also aws and serve);
#   2. a Docker engine that answers (scripts/bootstrap.sh engine: the running one, else a dockerd started here);
#   3. the base images the example app and the e2e tests build on: pulled, else local stand-ins
#      (scripts/bootstrap.sh images) where no registry can be reached;
#   4. python -m pytest example_app/tests: the app's own tests, against both its images, in their written order (as CI).
# Environment: PYTHON (the interpreter that makes the venv, default python3), VENV (default .venv).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
BASE_IMAGES=(python:3.11-slim public.ecr.aws/lambda/python:3.11)

log() { printf 'dev: %s\n' "$*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "making $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
log "installing the project (editable) and its test tools into $VENV"
"$VENV/bin/python" -m pip install --quiet --progress-bar off -e '.[test]'

scripts/bootstrap.sh engine

missing=0
for ref in "${BASE_IMAGES[@]}"; do
    if docker image inspect "$ref" >/dev/null 2>&1; then continue; fi
    log "pulling $ref"
    docker pull --quiet "$ref" >/dev/null 2>&1 || { log "cannot pull $ref: local stand-ins instead"; missing=1; }
done
if [ "$missing" = 1 ]; then PYTHON="$VENV/bin/python" scripts/bootstrap.sh images; fi

log "the example app's suite, against both its images"
"$VENV/bin/python" -m pytest -ra -p no:randomly example_app/tests
log "ready: '. $VENV/bin/activate', then README's test command runs the project's tests (as .ci/run does)"
