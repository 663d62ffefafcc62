"""The seed app: FastAPI behind Mangum, as deployed to Lambda from a container image."""

from __future__ import annotations

import base64
import os
import time
from urllib.parse import parse_qsl

from fastapi import Cookie, FastAPI, HTTPException, Request, Response
from mangum import Mangum
from pydantic import BaseModel

app = FastAPI()

#: A 1x1 orange PNG, for the binary route.
LOGO = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4P5PhPwAGywKYdXfpmQAAAABJRU5ErkJggg=="
)


class Item(BaseModel):
    name: str
    price: float
    tags: list[str] = []


@app.get("/test1")
def test1() -> dict[str, str]:
    return {"message": "test"}


@app.post("/test2")
def test2() -> dict[str, str]:
    return {"message": "test2"}


@app.post("/test3")
def test3(message: str) -> dict[str, str]:
    return {"message": message}


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None) -> dict[str, object]:
    """A path parameter (validated as int: `/items/abc` is a 422) and an optional query."""
    if item_id == 404:
        raise HTTPException(status_code=404, detail="Item not found")
    return {"item_id": item_id, "q": q}


@app.post("/items", status_code=201)
def create_item(item: Item) -> dict[str, object]:
    """A JSON body, validated by pydantic."""
    return {"created": item.model_dump(), "total": round(item.price * 1.1, 2)}


@app.get("/echo")
async def echo(request: Request) -> dict[str, object]:
    """What the app saw: method, path, repeated query keys, headers, the Lambda event's front."""
    event = request.scope.get("aws.event", {})
    return {
        "path": request.url.path,
        "query": [list(pair) for pair in request.query_params.multi_items()],
        "headers": dict(request.headers),
        "source_ip": request.client.host if request.client else None,
        "request_context_keys": sorted(event.get("requestContext", {})),
    }


@app.get("/env")
def env() -> dict[str, str | None]:
    """The function's environment, as set with --lambda-env."""
    return {"APP_GREETING": os.environ.get("APP_GREETING"), "AWS_REGION": os.environ.get("AWS_REGION")}


@app.get("/cookies")
def cookies(response: Response, session: str | None = Cookie(default=None)) -> dict[str, str | None]:
    response.set_cookie("seen", "yes")
    response.set_cookie("flavour", "oat")
    return {"session": session}


@app.get("/multi")
def multi() -> Response:
    """Repeated response headers."""
    response = Response(content="multi", media_type="text/plain")
    response.headers.append("X-Repeated", "one")
    response.headers.append("X-Repeated", "two")
    return response


@app.get("/binary")
def binary() -> Response:
    return Response(content=bytes(range(256)), media_type="application/octet-stream")


@app.get("/logo")
def logo() -> Response:
    """An image: through a REST API it reaches the client as bytes only with binary media types configured."""
    return Response(content=LOGO, media_type="image/png")


@app.post("/form")
async def form(request: Request) -> dict[str, object]:
    """A form post (parsed here: Form(...) needs python-multipart), and whether the event carried it base64-encoded."""
    fields = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True)
    return {"fields": [list(pair) for pair in fields], "base64": request.scope["aws.event"].get("isBase64Encoded")}


@app.get("/sleep")
def sleep(seconds: float) -> dict[str, float]:
    """Takes as long as asked: to show the function timeout."""
    time.sleep(seconds)
    return {"slept": seconds}


@app.get("/exit")
def hard_exit(code: int = 1) -> None:
    """Ends the runtime process mid-invocation, as a crash in native code would."""
    os._exit(code)


@app.get("/log")
def log(line: str) -> dict[str, str]:
    print(line, flush=True)
    return {"logged": line}


@app.get("/boom")
def boom() -> None:
    raise RuntimeError("boom from the app")


def raw_handler(event: dict, context: object) -> dict:  # type: ignore[type-arg]
    """A second, non-HTTP handler in the same image: echoes what it was sent (e.g. an SQS batch)."""
    records = event.get("Records", [])
    return {
        "records": len(records),
        "bodies": [r.get("body") for r in records],
        "b64": base64.b64encode(b"ok").decode(),
    }


def failing_handler(event: dict, context: object) -> dict:  # type: ignore[type-arg]
    """A handler that raises, to show how function errors surface."""
    raise ValueError(f"bad event: {sorted(event)}")


handler = Mangum(app, lifespan="off")
#: The same app deployed on an HTTP API's named stage `prod`: AWS puts `/prod` in front of every path.
prod_stage_handler = Mangum(app, lifespan="off", api_gateway_base_path="/prod")
