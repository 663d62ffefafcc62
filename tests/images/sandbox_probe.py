"""A handler that breaks Lambda's rules on request: writes next to its code, fills /tmp, reads root-only files,
allocates memory."""

import os
import resource
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
# An init that holds this much memory (MB), when asked.
HELD = bytearray(int(os.environ.get("INIT_ALLOC_MB", "0")) * 1024 * 1024)


def handler(event, context):
    action = event.get("action")
    if action == "write_code":
        with open(os.path.join(HERE, "written.txt"), "w") as f:
            f.write("x")
        return {"wrote": True}
    if action == "read_secret":
        with open(os.path.join(HERE, "secret.txt")) as f:
            return {"secret": f.read()}
    if action == "fill_tmp":
        chunk = b"x" * (1024 * 1024)
        with open("/tmp/fill", "wb") as f:
            for _ in range(event["mb"]):
                f.write(chunk)
        return {"filled": event["mb"]}
    if action == "alloc":
        block = bytearray(event["mb"] * 1024 * 1024)
        return {"allocated": len(block) // (1024 * 1024)}
    if action == "tmp_and_heap":
        with open("/tmp/data", "wb") as f:
            for _ in range(event["tmp"]):
                f.write(b"y" * (1024 * 1024))
        block = bytearray(event["heap"] * 1024 * 1024)
        os.remove("/tmp/data")
        return {"tmp": event["tmp"], "heap": len(block) // (1024 * 1024)}
    if action == "big":
        return "x" * event["bytes"]
    if action == "kill_self":
        os.kill(os.getpid(), 9)
    if action == "limits":
        return {"nofile": resource.getrlimit(resource.RLIMIT_NOFILE), "files": _files(), "threads": _threads()}
    if action == "clean_tmp":
        for name in os.listdir("/tmp"):
            os.remove(os.path.join("/tmp", name))
        return {}
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "env": dict(os.environ),
        "memory_limit_in_mb": int(context.memory_limit_in_mb),
        "function_name": context.function_name,
    }


def _files():
    """How many more files the function can open before EMFILE."""
    opened = []
    try:
        while True:
            opened.append(open(os.devnull))
    except OSError:
        return len(opened)
    finally:
        for f in opened:
            f.close()


def _threads():
    """How many threads the function can start before the system refuses one."""
    release, started = threading.Event(), []
    try:
        while True:
            thread = threading.Thread(target=release.wait, daemon=True)
            thread.start()
            started.append(thread)
    except RuntimeError:
        return len(started)
    finally:
        release.set()
        for thread in started:
            thread.join()
