"""Requests generated from the OpenAPI schema (schemathesis), a bounded number per operation, as an enterprise, a
regulator and the anonymous public, against real records: no answer is a 5xx, and every answer conforms to the
schema (its status code is documented, its body and content type are the ones described)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.chain import BUYER
from tests.conftest import api_client

EXAMPLES = 12  # per operation and identity: enough to cross every parameter, short enough for every CI run
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# Loaded once, in-process (the schema view needs no database): one generated test per operation.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
schema.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES, allow_x00=False)


@pytest.fixture
def records(db, chain):
    """Real records for generated requests to meet: a bike sold by the dealer, and another in stock.

    The app is called in-process, inside the test's transaction: like Django's test client, keep the request
    signals from closing the test's database connection."""
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    assert api_client(dealer).post("/api/v1/sales/", body, format="json").status_code == 201
    chain.in_stock(dealer)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def identities(world) -> dict[str, dict]:
    """The headers of each caller: an enterprise (the dealer), a regulator of the bike's district, the public."""
    from core.tokens import token_issue

    def bearer(user):
        return {"Authorization": f"Bearer {token_issue(user=user)}"}

    return {"enterprise": bearer(world.dealer), "regulator": bearer(world.district_regulator), "anonymous": {}}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,  # the same requests on every run: a failure is reproducible, CI is not a lottery
)
def test_generated_requests_get_documented_answers(case, records, identities):
    for headers in identities.values():
        case.call_and_validate(headers=headers, checks=CHECKS)
