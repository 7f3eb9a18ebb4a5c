"""The FastAPI app tests/python/test_fork.py serves with `gunicorn --preload` and 2 uvicorn
workers. The `Iam` is built at import time, in the gunicorn master, and used there once (its
runtime and connection pool exist before the workers are forked)."""

from __future__ import annotations

import asyncio
import json
import os
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import ory_iam

iam = ory_iam.Iam.from_config(json.loads(os.environ["ORY_IAM_FORK_APP_CONFIG"]))
MASTER_PID = os.getpid()
# A real call in the master: what a preloaded app does when it checks its dependencies.
asyncio.run(iam.identity.get(os.environ["ORY_IAM_FORK_APP_USER"]))

app = FastAPI()


@app.get("/ready")
async def ready() -> dict[str, int]:
    return {"master_pid": MASTER_PID}


@app.get("/me")
async def me(request: Request, hold: float = 0.0) -> JSONResponse:
    try:
        session = await iam.session.whoami(dict(request.headers))
    except ory_iam.IamUnauthorizedError:
        return JSONResponse({"error": "unauthorized"}, status_code=401)
    if hold:
        time.sleep(hold)  # blocks this worker's loop: the next connection goes to the other worker
    return JSONResponse({"pid": os.getpid(), "id": session.identity.id})
