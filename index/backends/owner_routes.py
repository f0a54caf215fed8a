"""The owner endpoint: the routes through which `scout serve` serves the index it owns to the other processes of
this machine (`index.owner`). Kept apart so that clients never import FastAPI.

One route, `POST /internal/index/{op}`, one credential (the owner token), bounded bodies (413 beyond
`index.owner.MAX_COMMAND_BYTES` for a command, `MAX_CALL_BYTES` for a storage call). Storage operations run
`index.backends.remote.dispatch`; the `command` operation runs a whole query command with the handler the
server passes (`scout.relay_server`), in the thread pool, so a slow command never holds up the others.
"""

# No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
import hmac
import json
from typing import Any, Callable

from fastapi import APIRouter, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from index.backends.base import Backend
from index.backends.remote import dispatch
from index.owner import COMMAND, MAX_CALL_BYTES, MAX_COMMAND_BYTES, PREFIX


async def read_bounded(request: Request, limit: int) -> bytes:
    """The request body, or 413 as soon as it is known to exceed `limit` bytes (nothing more is read)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the request is {int(declared):,} bytes; the index owner takes at most {limit:,}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"the request is over {limit:,} bytes, the most the index owner takes")
    return bytes(body)


def owner_router(backend: Backend, token: str, commands: Callable[[dict], dict] | None = None) -> APIRouter:
    """The owner endpoint for `backend` (pass a `LockedBackend`), guarded by `token`; `commands` answers the
    `command` operation (absent: only storage calls are served)."""
    router = APIRouter(prefix=PREFIX.rstrip("/"), include_in_schema=False)

    @router.post("/{op}")
    async def call(op: str, request: Request, authorization: str = Header(default="")) -> Any:
        supplied = authorization.removeprefix("Bearer ").strip()
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="bad index owner token")
        body = await read_bounded(request, MAX_COMMAND_BYTES if op == COMMAND else MAX_CALL_BYTES)
        try:
            args = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise HTTPException(status_code=400, detail=f"bad index request {op!r}: not JSON") from None
        if not isinstance(args, dict):
            raise HTTPException(status_code=400, detail=f"bad index request {op!r}: not a JSON object")
        if op == COMMAND:
            if commands is None:
                raise HTTPException(status_code=404, detail="this index owner runs no commands")
            return await run_in_threadpool(commands, args)
        try:
            return await run_in_threadpool(dispatch, backend, op, args)
        except KeyError as exc:
            raise HTTPException(status_code=400, detail=f"bad index request {op!r}: missing {exc}") from exc

    return router
