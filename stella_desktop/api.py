"""The local HTTP API (``stella serve``): simulations and run state, as the Task Runner serves them.

Same core, same serialisations: a simulation answers with exactly the bytes
``stella task-runner simulate --format json`` prints, and a run with exactly
``stella task-runner runs show --format json``.  FastAPI and uvicorn come from
the optional ``api`` extra and are imported only by the ``api*`` modules.

What every request goes through before an endpoint sees it lives beside this
module, so endpoints added here inherit it: ``api_access`` (Host, Origin,
token), ``api_limits`` (body size, time, memory), ``api_errors`` (JSON for
anything that escapes) and ``api_server`` (header deadline, connection cap).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from core import json_text
from core.errors import PackInvalid, Problem
from core.execution.host import RunHost
from core.execution.run import PlanDrift
from core.execution.scheduler import DecisionError
from core.execution.store import RunCorrupt, RunLocked, RunNotFound, RunStore, RunStoreError
from core.manifest import parse_pack
from core.simulation import preview_pack
from stella_desktop import __version__
from stella_desktop.api_access import Access, AccessGuard
from stella_desktop.api_errors import GUARD_RESPONSES, Detail, install_error_handlers
from stella_desktop.api_limits import BodyGuard, Limits
from stella_desktop.api_runs import add_run_routes

MAX_BODY_BYTES = Limits().max_body
JSON = "application/json"


class SimulationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manifest: str = Field(description="The pack's YAML text")
    inputs: dict[str, Any] = Field(default_factory=dict, description="Input values")
    forecast: bool = Field(default=False, description="Also forecast the run on virtual time (a 'forecast' key)")
    assume: dict[str, str] = Field(default_factory=dict,
                                   description="STEP -> OUTCOME (succeed, fail, fail:N, skip, approve, reject, "
                                               "allow, deny, wait); implies forecast")
    durations: dict[str, float] = Field(default_factory=dict,
                                        description="STEP -> seconds per attempt; implies forecast")


class ProblemOut(BaseModel):
    file: str
    line: int
    column: int
    step: str | None
    field: str | None
    message: str


class ProblemsOut(BaseModel):
    errors: list[ProblemOut]


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: str = Field(pattern="^(approve|reject)$")
    decidedBy: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=4000)


def _problems(problems: list[Problem]) -> JSONResponse:
    return JSONResponse({"errors": [p.to_dict() for p in problems]}, status_code=422)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def create_app(store: RunStore, packs_dir: str | None = None, *, access: Access | None = None,
               limits: Limits | None = None, host: RunHost | None = None) -> FastAPI:
    """The API over ``store``; schema files resolve only inside ``packs_dir`` when given.

    Every request passes :class:`AccessGuard` (Host, Origin, token; default: loopback names,
    no token) and :class:`BodyGuard` (size, time, memory) before any endpoint sees it.  Runs
    started or resumed through the API are driven by ``host`` (default: the threads backend, no
    ``builtin:command``).
    """
    host = host or RunHost(store)
    app = FastAPI(title="Stella Desktop local API", version=__version__,
                  description="Simulations and run state of Stella Ops Task Packs, on this machine.",
                  responses=GUARD_RESPONSES,
                  # no Swagger UI / ReDoc pages: they load scripts from a CDN into a page on the API's own
                  # origin, which could then read runs and record approvals; /openapi.json stays
                  docs_url=None, redoc_url=None)
    app.add_middleware(BodyGuard, limits=limits or Limits())
    app.add_middleware(AccessGuard, access=access or Access())  # added last: runs first
    install_error_handlers(app)

    @app.exception_handler(RequestValidationError)
    async def malformed_request(_request, error: RequestValidationError) -> JSONResponse:
        """A malformed request body gets the same structured 422 as an invalid manifest."""
        return JSONResponse({"errors": [
            {"file": "request", "line": 0, "column": 0, "step": None,
             "field": ".".join(str(part) for part in item.get("loc", ())[1:]) or None,
             "message": item.get("msg", "invalid")}
            for item in error.errors()
        ]}, status_code=422)

    @app.post("/v1/task-runner/simulations", response_class=Response,
              responses={200: {"content": {JSON: {}}, "description": "The simulation preview"},
                         400: {"model": Detail}, 413: {"model": Detail}, 422: {"model": ProblemsOut}})
    def simulate(request: SimulationRequest) -> Response:
        """Validate, plan and simulate a manifest: the same JSON as `stella task-runner simulate --format json`.

        With `forecast` (or `assume` / `durations`): the same JSON as `simulate --forecast --store STORE`.
        An assumption that does not fit the pack is a 400 naming the valid choices.
        """
        try:
            pack = parse_pack(request.manifest, "manifest", packs_dir)
            preview = preview_pack(pack, request.inputs, "inputs")
        except PackInvalid as invalid:
            return _problems(invalid.problems)
        forecast = None
        if request.forecast or request.assume or request.durations:
            from core.forecast import AssumptionError, forecast as make_forecast
            try:  # history durations come from this server's run store, as `--store` gives them to the CLI
                forecast = make_forecast(preview, request.assume, request.durations, store=store.root)
            except AssumptionError as error:
                return _error(400, str(error))
        return Response(preview.to_json(forecast), media_type=JSON)

    @app.get("/v1/task-runner/runs", response_class=Response,
             responses={200: {"content": {JSON: {}}, "description": "Every run, newest first"}})
    def list_runs() -> Response:
        """Every run in the store (a damaged run is listed with its problem)."""
        return Response(json_text.pretty([s.to_json() for s in store.list()]), media_type=JSON)

    @app.get("/v1/task-runner/runs/{run_id}", response_class=Response,
             responses={200: {"content": {JSON: {}}, "description": "The run snapshot"},
                        404: {"model": Detail}, 500: {"model": Detail}})
    def show_run(run_id: str) -> Response:
        """A run's snapshot: the same JSON as `stella task-runner runs show RUN_ID --format json`."""
        try:
            snapshot = host.snapshot(run_id)
        except RunNotFound as missing:
            return _error(404, str(missing))
        except (RunCorrupt, PlanDrift) as broken:
            return _error(500, f"run '{run_id}' cannot be read: {broken}")
        except RunStoreError as error:
            return _error(500, str(error))
        return Response(json_text.pretty(snapshot), media_type=JSON)

    @app.post("/v1/task-runner/runs/{run_id}/approvals/{approval_id}", response_class=Response,
              responses={200: {"content": {JSON: {}}, "description": "The run snapshot after the decision"},
                         400: {"model": Detail}, 404: {"model": Detail}, 409: {"model": Detail},
                        413: {"model": Detail}, 422: {"model": ProblemsOut}, 500: {"model": Detail}})
    def decide_approval(run_id: str, approval_id: str, request: DecisionRequest) -> Response:
        """Record an approval decision for a run that waits at a gate (then resume it); a run this
        server drives goes on at once."""
        try:
            snapshot = host.approve(run_id, approval_id, request.decidedBy, request.reason,
                                    request.decision == "approve")
        except RunNotFound as missing:
            return _error(404, str(missing))
        except (RunLocked, DecisionError) as refused:
            return _error(409, str(refused))
        except (RunCorrupt, PlanDrift, RunStoreError) as broken:
            return _error(500, f"run '{run_id}' cannot be opened: {broken}")
        return Response(json_text.pretty(snapshot), media_type=JSON)

    add_run_routes(app, host, Detail, ProblemsOut)
    return app


def openapi_text(app: FastAPI) -> str:
    return json_text.pretty(app.openapi())


OPENAPI_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
