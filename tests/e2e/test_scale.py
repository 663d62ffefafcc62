"""Scale: `--lambda-concurrency N` (N containers, each call on an idle one, as on-demand Lambda scales:
https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html) and `--lambda-reuse` (a warm container for the
next run). Asserted on what happened (which container served which request id, what was started), never on time."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.docker

EIGHT_AT_ONCE = """
import asyncio
import threading

import httpx

from pytest_lambda_container import AsyncLambdaTransport

SLEEP = {"seconds": "0.4"}


def served_by(session, request_ids):
    '''Which container's log holds each request id: exactly one each, or the assertion says which not.'''
    logs = {c.name: c.logs() for c in session.containers}
    where = {rid: [name for name, log in logs.items() if f"START RequestId: {rid}" in log] for rid in request_ids}
    assert all(len(names) == 1 for names in where.values()), where
    return {rid: names[0] for rid, names in where.items()}


def eight_threads(call):
    barrier = threading.Barrier(8)
    out = [None] * 8

    def run(i):
        barrier.wait()
        out[i] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def test_invoke_from_eight_threads(invoke, lambda_session):
    responses = eight_threads(lambda: invoke("GET", "/sleep", SLEEP))
    assert [r.json() for r in responses] == [{"slept": 0.4}] * 8
    ids = [r.extensions["lambda_report"].request_id for r in responses]
    assert len(set(ids)) == 8
    served = served_by(lambda_session, ids)
    assert 2 <= len(set(served.values())) <= 4 and len(lambda_session.containers) <= 4
    # The classic emulator panics on a second concurrent call: none did.
    assert all(c.restarts == 0 and c.exit_code() is None for c in lambda_session.containers)


def test_raw_events_from_eight_threads(lambda_container, lambda_session):
    from pytest_lambda_container.fronts.events import EventOptions, HttpRequest, get_format

    event = get_format("rest").build(HttpRequest("GET", "/sleep", raw_query="seconds=0.4"), EventOptions())

    def call():
        result = lambda_container.invoke_event(event)
        return result, lambda_container.last_report.request_id

    out = eight_threads(call)
    assert all(result["statusCode"] == 200 for result, _ in out)
    served_by(lambda_session, [rid for _, rid in out])
    assert len(lambda_session.containers) <= 4


def test_asyncio_gather(lambda_container, lambda_session):
    async def main():
        transport = AsyncLambdaTransport(lambda_container)
        async with httpx.AsyncClient(base_url="http://lambda", transport=transport) as client:
            return await asyncio.gather(*(client.get("/sleep", params=SLEEP) for _ in range(8)))

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * 8
    served_by(lambda_session, [r.extensions["lambda_report"].request_id for r in responses])
    assert len(lambda_session.containers) <= 4
"""


def test_concurrency_four_serves_eight_calls_on_at_most_four_containers(pytester, lambda_image, docker_client):
    pytester.makepyfile(EIGHT_AT_ONCE)
    result = pytester.runpytest(
        f"--lambda-image={lambda_image.id}", "--lambda-port=0", "--lambda-concurrency=4", "-p", "no:randomly"
    )
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*concurrency 4*"])
