"""Every error the local API answers is JSON: ``{"detail": "..."}`` (422: ``{"errors": [...]}``).

Endpoints turn the problems they expect into 4xx answers themselves; what
escapes them lands here, for every endpoint, including ones added later: a
run-store problem (a read-only disk, a file replaced by a folder, a damaged
record) is a 500 that names it (a missing run 404, a run another process
drives 409), anything else a 500 that names its type.
Never a plain-text "Internal Server Error", never a traceback in a response.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from core.execution.store import RunLocked, RunNotFound, RunStoreError

log = logging.getLogger("stella_desktop.api")


class Detail(BaseModel):
    detail: str


GUARD_RESPONSES = {
    401: {"model": Detail, "description": "The server has an access token and the request did not carry it"},
    403: {"model": Detail, "description": "The Host is not this server, or a cross-origin state change"},
    408: {"model": Detail, "description": "The request body did not arrive in time"},
    413: {"model": Detail, "description": "The request body is larger than 10 MiB"},
    500: {"model": Detail, "description": "A run-store problem or an internal error, named"},
    503: {"model": Detail, "description": "Too many connections or large bodies at once; retry shortly"},
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RunNotFound)
    async def not_found(_request, error: RunNotFound) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=404)

    @app.exception_handler(RunLocked)
    async def locked(_request, error: RunLocked) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=409)

    @app.exception_handler(RunStoreError)
    async def store_problem(_request, error: RunStoreError) -> JSONResponse:
        return JSONResponse({"detail": f"run store problem: {error}"}, status_code=500)

    @app.exception_handler(TimeoutError)  # an OSError: before it, a busy driver was "run store problem: "
    async def busy(_request, error: TimeoutError) -> JSONResponse:
        return JSONResponse({"detail": str(error) or "the server did not answer in time; try again"},
                            status_code=503, headers={"Retry-After": "1"})

    @app.exception_handler(OSError)
    async def disk_problem(_request, error: OSError) -> JSONResponse:
        where = f" ({error.filename})" if error.filename else ""
        return JSONResponse({"detail": f"run store problem: {error.strerror or error}{where}"}, status_code=500)

    @app.exception_handler(Exception)
    async def internal(_request, error: Exception) -> JSONResponse:
        log.error("internal error", exc_info=error)
        return JSONResponse({"detail": f"internal error: {type(error).__name__} (see the server's log)"},
                            status_code=500)
