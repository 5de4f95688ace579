"""schemathesis against the running API's own OpenAPI document: whatever it is sent, the API
answers without a 5xx, and every answer matches the schema it publishes."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from api.app import create_app
from catalog import tenants
from catalog.models import Role
from infra.core.database import session_scope
from infra.core.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fuzz_keys(sessions):
    """An admin (every route) and a broadcaster with rights (the filtered paths)."""
    with session_scope(sessions) as session:
        admin = tenants.create_key("fuzz admin", Role.ADMIN, session=session)[1]
        broadcaster = tenants.create_broadcaster("Fuzz TV", ["NZ"], session=session)
        tenants.grant_rights(
            broadcaster.id, tenants.GrantTerms(scope="all", territories=("NZ",)), session=session
        )
        rhb = tenants.create_key(
            "fuzz rhb", Role.BROADCASTER, session=session, broadcaster_id=broadcaster.id
        )[1]
    return {"admin": admin, "broadcaster": rhb}


# The document the API publishes at /openapi.json (built without connecting to anything).
schema = schemathesis.openapi.from_dict(create_app(Settings(_env_file=None)).openapi())
FUZZ = settings(
    max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
CHECKS = [not_a_server_error, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@FUZZ
def test_as_an_admin_no_server_errors_and_answers_match_the_schema(case, api_url, fuzz_keys):
    auth = {"Authorization": f"Bearer {fuzz_keys['admin']}"}
    case.call_and_validate(base_url=api_url, headers=auth, checks=CHECKS, timeout=30)


@schema.parametrize()
@FUZZ
def test_as_a_broadcaster_no_server_errors_and_answers_match_the_schema(case, api_url, fuzz_keys):
    auth = {"Authorization": f"Bearer {fuzz_keys['broadcaster']}"}
    case.call_and_validate(base_url=api_url, headers=auth, checks=CHECKS, timeout=30)
