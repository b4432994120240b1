"""The API's run endpoints: start a pack, decide its policy gates, resume and cancel it.

Runs are driven in the server by a :class:`~core.execution.host.RunHost`
(threads backend, or dask when ``stella serve --backend dask``); the routes
are added to the one app :func:`stella_desktop.api.create_app` builds, so
they pass the same middleware as every other endpoint.  When the server
stops, every run it drives is saved ``interrupted`` and stays resumable.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from core import json_text
from core.errors import PackInvalid
from core.execution.backends import BackendUnavailable
from core.execution.driver import BackendError
from core.execution.host import RunConflict, RunHost
from core.execution.run import PlanDrift
from core.execution.scheduler import DecisionError
from core.execution.store import RunCorrupt, RunLocked, RunNotFound, RunStoreError

JSON = "application/json"
RUNS = "/v1/task-runner/runs"


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manifest: str = Field(description="The pack's YAML text")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Input values")


class RunStarted(BaseModel):
    runId: str
    status: str


class PolicyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str = Field(pattern="^(allow|deny)$")
    decidedBy: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=4000)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def _json(value: Any, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json_text.pretty(value), status_code=status, media_type=JSON, headers=headers)


def _started(started: dict) -> Response:
    return _json(started, 202, {"Location": f"{RUNS}/{started['runId']}"})


def _problems(invalid: PackInvalid) -> JSONResponse:
    return JSONResponse({"errors": [p.to_dict() for p in invalid.problems]}, status_code=422)


def _store_problem(run_id: str, error: Exception) -> JSONResponse:
    """The answer for what the store or the run's state says (shared by every run endpoint)."""
    if isinstance(error, RunNotFound):
        return _error(404, str(error))
    if isinstance(error, (RunLocked, RunConflict, DecisionError, PlanDrift)):
        return _error(409, str(error))
    if isinstance(error, RunCorrupt):
        return _error(500, f"run '{run_id}' cannot be read: {error}")
    if isinstance(error, (BackendUnavailable, BackendError)):
        return _error(503, str(error))
    return _error(500, str(error))


EXPECTED = (RunStoreError, RunConflict, DecisionError, PlanDrift, BackendUnavailable, BackendError)


def add_run_routes(app: FastAPI, host: RunHost, detail_model: type[BaseModel],
                   problems_model: type[BaseModel]) -> None:
    """Add the run-driving endpoints to ``app``, and interrupt driven runs when it shuts down."""
    errors = {404: {"model": detail_model}, 409: {"model": detail_model}, 500: {"model": detail_model},
              503: {"model": detail_model}}
    snapshot_out = {200: {"content": {JSON: {}}, "description": "The run snapshot afterwards"}}
    bodies = {400: {"model": detail_model}, 413: {"model": detail_model}}  # unreadable or too large

    @app.post(RUNS, response_class=Response, status_code=202,
              responses={202: {"model": RunStarted, "description": "The run was created and is being driven"},
                         409: {"model": detail_model}, 422: {"model": problems_model},
                         500: {"model": detail_model}, 503: {"model": detail_model}, **bodies})
    async def start_run(request: RunRequest) -> Response:
        """Validate, plan and preflight a pack, create its run and drive it in the server.

        `builtin:command` steps are refused (422) unless the server was started with `--allow-commands`.
        """
        try:
            started = await run_in_threadpool(host.start, request.manifest, request.inputs)
        except PackInvalid as invalid:
            return _problems(invalid)
        except EXPECTED as error:
            return _store_problem("new", error)
        return _started(started)

    @app.post(RUNS + "/{run_id}/policy/{step_id}", response_class=Response,
              responses={**snapshot_out, **errors, **bodies, 422: {"model": problems_model}})
    async def decide_policy(run_id: str, step_id: str, request: PolicyRequest) -> Response:
        """Allow or deny a policy gate the run waits at; a run this server drives goes on at once."""
        try:
            snapshot = await run_in_threadpool(host.decide_policy, run_id, step_id, request.decision == "allow",
                                               request.decidedBy, request.reason)
        except EXPECTED as error:
            return _store_problem(run_id, error)
        return _json(snapshot)

    @app.post(RUNS + "/{run_id}/resume", response_class=Response, status_code=202,
              responses={202: {"model": RunStarted, "description": "The run is being driven again"},
                         **errors, 422: {"model": problems_model}})
    async def resume_run(run_id: str) -> Response:
        """Re-plan the run (refused with 409 if its plan changed) and drive it on in the server."""
        try:
            started = await run_in_threadpool(host.resume, run_id)
        except PackInvalid as invalid:
            return _problems(invalid)
        except EXPECTED as error:
            return _store_problem(run_id, error)
        return _started(started)

    @app.post(RUNS + "/{run_id}/cancel", response_class=Response,
              responses={**snapshot_out, 202: {"model": detail_model, "description":
                                               "Another process drives the run: it was asked to cancel"},
                         **errors})
    async def cancel_run(run_id: str) -> Response:
        """Cancel a run: its running steps are interrupted (attempts not used); it stays resumable."""
        try:
            snapshot = await run_in_threadpool(host.cancel, run_id)
        except RunLocked as locked:
            return _error(202, f"asked the process driving it to cancel: {locked}")
        except EXPECTED as error:
            return _store_problem(run_id, error)
        return _json(snapshot)

    app.add_middleware(AllowedMethods, routes=app.router.routes)
    previous = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application):
        async with previous(application) as state:
            yield state
        await run_in_threadpool(host.shutdown)  # driven runs: saved interrupted, resumable

    app.router.lifespan_context = lifespan


class AllowedMethods:
    """ASGI middleware: a 405 names every method of its path (GET and POST /runs are two routes,
    and Starlette's own ``Allow`` header names only the first one's)."""

    def __init__(self, app, routes):
        self.app = app
        self.routes = routes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_allow(message):
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = sorted({method for route in self.routes if getattr(route, "methods", None)
                                  and route.path_regex.match(scope["path"]) for method in route.methods})
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message = dict(message, headers=headers + [(b"allow", ", ".join(methods).encode())])
            await send(message)

        await self.app(scope, receive, send_with_allow)
