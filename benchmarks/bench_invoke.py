"""What the plugin costs per call, measured side by side against raw httpx posting to the same container.

    python benchmarks/bench_invoke.py [--calls N] [--image IMAGE]

Builds example_app (or takes --image), starts one container, then alternates rounds of:
  raw      httpx.Client.post of a prebuilt API Gateway event to the emulator (the floor: no plugin at all)
  invoke   the `invoke` helper: request → event → container.invoke_event → response
  client   lambda_client.get, through LambdaTransport
  metrics  `invoke` and then reading the call's report (response.extensions["lambda_report"]: the REPORT line from
           the container's log, the cgroup's peak): what asking for the metrics costs, on top of `invoke`
  inprocess `invoke` on the inprocess target: the handler called in this process, no container
and prints per-call medians and the ratios to raw, plus the test process's memory growth. `invoke` and `client` include
the sandbox's memory watch (on by default), which samples the cgroup during each call.
Run on loopback only; nothing here is timed inside a test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import statistics
import time
from pathlib import Path

import httpx

from pytest_lambda_container import FunctionSpec, LambdaSession, LambdaTransport, Settings, make_invoke
from pytest_lambda_container.container.protocol import INVOKE_PATH
from pytest_lambda_container.fronts.events import EventOptions, HttpRequest, get_format
from pytest_lambda_container.inprocess import function as inprocess

ROOT = Path(__file__).resolve().parents[1]


def per_call(fn, calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300, help="calls per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--image", help="an existing image instead of building example_app")
    args = parser.parse_args()

    settings = Settings(
        rootdir=ROOT,
        image=args.image,
        dockerfile=ROOT / "example_app" / "Dockerfile",
        build_network="host",
        port=0,
    )
    with LambdaSession(settings, log=lambda line: print("setup:", line)) as session:
        container = session.container()
        client = httpx.Client(base_url="http://lambda", transport=LambdaTransport(container))
        invoke = make_invoke(client)
        event = json.dumps(get_format("rest").build(HttpRequest("GET", "/test1"), EventOptions())).encode()
        raw_client = httpx.Client(base_url=container.url)

        def raw() -> None:
            r = raw_client.post(INVOKE_PATH, content=event, headers={"Content-Type": "application/json"})
            assert json.loads(r.content)["statusCode"] == 200

        def plugin_invoke() -> None:
            assert invoke("GET", "/test1").status_code == 200

        def plugin_client() -> None:
            assert client.get("/test1").status_code == 200

        def with_metrics() -> None:
            report = invoke("GET", "/test1").extensions["lambda_report"]
            assert report.duration_ms > 0 and report.max_memory_used_mb > 0

        local = inprocess.load(dataclasses.replace(settings, target="inprocess"), FunctionSpec())
        local_invoke = make_invoke(httpx.Client(base_url="http://lambda", transport=LambdaTransport(local)))

        def in_process() -> None:
            assert local_invoke("GET", "/test1").status_code == 200

        rows = {"raw": raw, "invoke": plugin_invoke, "client": plugin_client, "metrics": with_metrics}
        rows["inprocess"] = in_process
        for fn in rows.values():  # warm up: runtime loaded, connections open
            per_call(fn, 20)
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        results: dict[str, list[float]] = {name: [] for name in rows}
        for _ in range(args.rounds):  # interleaved, so drift hits all alike
            for name, fn in rows.items():
                results[name].append(per_call(fn, args.calls))
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        total = args.rounds * args.calls * len(rows)

        raw_ms = statistics.median(results["raw"]) * 1000
        print(f"\n{total} calls to {container.image.ref} at {container.url}, {args.rounds} rounds of {args.calls}")
        print(f"{'path':10} {'median ms/call':>15} {'vs raw':>8}")
        for name, values in results.items():
            ms = statistics.median(values) * 1000
            print(f"{name:10} {ms:15.3f} {ms / raw_ms:8.2f}x")
        invoke_ms = statistics.median(results["invoke"]) * 1000
        metrics_ms = statistics.median(results["metrics"]) * 1000
        print(f"reading the metrics costs {metrics_ms - invoke_ms:.3f} ms per call, only when asked")
        print(f"max RSS of this process: {rss_before / 1024:.1f} MB before, {rss_after / 1024:.1f} MB after")
        raw_client.close()
        client.close()


if __name__ == "__main__":
    main()
