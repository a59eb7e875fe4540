"""Schemathesis over the whole OpenAPI schema, as a coordinator and as a data manager, against
the served app: no input it generates may give a server error, and every answer must match the
schema the API publishes. Examples per operation are bounded (FUZZ_EXAMPLES), so the run takes
a few minutes at most; Hypothesis derandomizes, so a failure reproduces."""

import os

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from edc.audit.context import ChangeContext
from randomization.services import go_live
from tests.factories import SiteFactory, UserFactory, api_token, load_study, member, screen

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
FUZZ_EXAMPLES = int(os.environ.get("EDC_FUZZ_EXAMPLES", 8))


@pytest.fixture
def world(transactional_db):
    study = load_study()
    own, foreign = SiteFactory(study=study, code="01"), SiteFactory(study=study, code="02")
    go_live(ChangeContext.system(), study, seed=bytes(range(32)))
    for site in (own, foreign):
        screen(site)
        screen(site)
    coordinator = UserFactory(username="fuzz_coordinator")
    member(coordinator, own, "site_staff")
    data_manager = UserFactory(username="fuzz_dm")
    member(data_manager, study, "data_manager")
    return {
        "site_staff": api_token(coordinator),
        "data_manager": api_token(data_manager),
    }


@pytest.fixture
def api_schema(world):
    document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(document)


FUZZ = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def fuzz(api_schema, token: str, base_url: str) -> list[str]:
    """Every operation, FUZZ_EXAMPLES generated requests each; the failures, by operation."""
    failures = []
    answered: set[str] = set()
    for result in api_schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @FUZZ
        def run(case):
            case.call_and_validate(
                base_url=base_url,
                headers={"Authorization": f"Token {token}"},
                checks=[not_a_server_error, response_schema_conformance],
            )
            answered.add(case.operation.label)

        try:
            run()
        except Exception as failure:  # noqa: BLE001 - every operation's failure is reported
            failures.append(f"{operation.label}: {failure}")
    operations = len(list(api_schema.get_all_operations()))
    # The run is not vacuous: (nearly) every operation was called and answered.
    assert operations > 30 and len(answered) + len(failures) >= operations, (answered, operations)
    return failures


def test_as_a_coordinator_no_server_error_and_answers_match_the_schema(
    api_schema, world, live_server
):
    assert fuzz(api_schema, world["site_staff"], live_server.url) == []


def test_as_a_data_manager_no_server_error_and_answers_match_the_schema(
    api_schema, world, live_server
):
    assert fuzz(api_schema, world["data_manager"], live_server.url) == []
