"""A bounded schemathesis run against the API's own OpenAPI document: no 5xx, responses conform.

25 generated requests per operation keep it to a few seconds in the test command.
"""

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import positive_data_acceptance  # noqa: E402

from core.execution.store import RunStore  # noqa: E402
from stella_desktop.api import create_app  # noqa: E402
from stella_desktop.api_access import Access  # noqa: E402

# schemathesis addresses the application as "testserver", which the Host check would refuse
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(RunStore("/nonexistent-stella-store"),
                                                                    access=Access(frozenset({"testserver"}))))


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case):
    # A schema-valid body may still hold an invalid manifest: 422 with located errors is the
    # documented answer, so "positive data must be accepted" does not apply to this API.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])
