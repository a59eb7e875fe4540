"""The OpenAPI schema says which response fields may be null: a client generated from it must
accept the nulls the API really sends (no assignee yet, raised by the system, not unlocked)."""

import pytest
from drf_spectacular.generators import SchemaGenerator

NULLABLE = {
    "Query": ["assignee", "raised_by"],
    "QueryDetail": ["assignee", "raised_by"],
    "Lock": ["unlocked_by"],
}


@pytest.fixture(scope="module")
def components():
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


@pytest.mark.parametrize(
    ("component", "field"), [(c, f) for c, fields in NULLABLE.items() for f in fields]
)
def test_fields_the_api_sends_as_null_are_nullable_in_the_schema(components, component, field):
    assert components[component]["properties"][field].get("nullable") is True
