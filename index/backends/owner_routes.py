"""The owner's side of the remote index protocol: FastAPI routes that serve its shard to other local
processes (see `index.backends.remote`). Kept apart so that clients never import FastAPI."""

# No `from __future__ import annotations` here: FastAPI reads these annotations at run time.
import hmac
from typing import Any

from fastapi import APIRouter, Header, HTTPException, Request
from starlette.concurrency import run_in_threadpool

from index.backends.base import Backend
from index.backends.remote import dispatch


def backend_router(backend: Backend, token: str) -> APIRouter:
    """Routes under /internal/index/ for `backend` (pass a `LockedBackend`), guarded by `token`."""
    router = APIRouter(prefix="/internal/index", include_in_schema=False)

    @router.post("/{op}")
    async def call(op: str, request: Request, authorization: str = Header(default="")) -> Any:
        supplied = authorization.removeprefix("Bearer ").strip()
        if not hmac.compare_digest(supplied.encode(), token.encode()):
            raise HTTPException(status_code=401, detail="bad index token")
        args = await request.json()
        try:
            return await run_in_threadpool(dispatch, backend, op, args)
        except KeyError as exc:
            raise HTTPException(status_code=400, detail=f"bad index request {op!r}: missing {exc}") from exc

    return router
