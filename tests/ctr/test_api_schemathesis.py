"""Property test of the API against its own OpenAPI document: no 5xx for any input."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from api.main import create_app
from tests.ctr.conftest import write_serving
from tests.ctr.test_api import PURCHASES, VIEWS

_DATA = Path(tempfile.mkdtemp(prefix="ctr-schemathesis-"))
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(data_dir=str(_DATA)))


@pytest.fixture(scope="module", autouse=True)
def _serving_data() -> Iterator[None]:
    write_serving(_DATA, VIEWS, PURCHASES)
    yield
    shutil.rmtree(_DATA, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case: schemathesis.Case) -> None:
    case.call_and_validate(
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
    )
