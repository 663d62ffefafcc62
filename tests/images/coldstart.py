"""A handler whose module tells how often it was imported and with what CPU (env INIT_SLEEP: a slow import,
INIT_FAIL: an import that raises). Its event may ask it to sleep, to exit (a crash) or to allocate memory."""

import os
import sys
import time


def cpu_quota() -> str:
    """The container's CPU quota as the kernel applies it now (cgroup v1, else v2)."""
    for path in ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us"):
        if os.path.exists(path):
            return open(path).read().strip()
    if os.path.exists("/sys/fs/cgroup/cpu.max"):
        return open("/sys/fs/cgroup/cpu.max").read().split()[0]
    return "unknown"


INIT_QUOTA = cpu_quota()
time.sleep(float(os.environ.get("INIT_SLEEP", "0")))
with open("/tmp/imports", "a") as f:
    f.write(f"{os.getpid()}\n")
print("coldstart: module imported", file=sys.stderr, flush=True)
if os.environ.get("INIT_FAIL"):
    raise ValueError("the module failed at import, on purpose")


def handler(event, context):
    if "exit" in event:
        os._exit(int(event["exit"]))
    block = bytearray(int(event.get("alloc_mb", 0)) * 1024 * 1024)
    time.sleep(float(event.get("sleep", 0)))
    with open("/tmp/imports") as f:
        imports = len(f.read().split())
    return {
        "imports": imports,
        "init_quota": INIT_QUOTA,
        "call_quota": cpu_quota(),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "allocated_mb": len(block) // (1024 * 1024),
    }
