"""A FastAPI app behind Mangum whose route writes next to its code, as a newcomer's first app might: on Lambda's
read-only filesystem the write raises, Mangum logs the exception and the app answers 500."""

import logging
import os

from fastapi import FastAPI
from mangum import Mangum

app = FastAPI()
logging.getLogger().setLevel(logging.INFO)


@app.get("/write")
def write() -> dict[str, str]:
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "out.txt"), "w") as f:
        f.write("x")
    return {"wrote": "out.txt"}


@app.get("/fine")
def fine() -> dict[str, str]:
    logging.getLogger(__name__).info("a record after the failed one")
    return {"ok": "yes"}


handler = Mangum(app, lifespan="off")
