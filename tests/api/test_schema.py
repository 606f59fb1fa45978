"""The OpenAPI schema is served and valid, and generating it raises no warnings."""

import pytest
import yaml
from django.core.management import call_command

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/service-types/",
    "/api/service-types/{code}/",
    "/api/departments/",
    "/api/approval-items/",
    "/api/qualification-types/",
    "/api/intermediaries/",
    "/api/intermediaries/{id}/",
    "/api/intermediaries/{id}/review/",
    "/api/offers/{id}/fees/",
    "/api/fees/{code}/",
    "/api/me/intermediary/",
    "/api/me/intermediary/qualifications/",
    "/api/me/intermediary/practitioners/",
    "/api/me/intermediary/shareholders/",
    "/api/me/intermediary/ties/",
    "/api/me/intermediary/commitment/",
    "/api/me/offers/",
    "/api/me/offers/{id}/",
    "/api/me/offers/{id}/fee/",
    "/api/review-queue/",
]


def test_schema_endpoint_serves_every_api_path(client):
    response = client.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert set(ENDPOINTS) <= set(schema["paths"])


def test_schema_validates_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    schema = yaml.safe_load(target.read_text(encoding="utf-8"))
    upload = schema["components"]["schemas"]["QualificationInputRequest"]["properties"]["certificate"]
    assert upload["format"] == "binary"


def test_schema_documents_the_error_responses(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    paths = schema["paths"]

    cancel = paths["/api/projects/{id}/cancel/"]["post"]["responses"]
    assert set(cancel) == {"200", "400", "403", "404", "415"}
    refusal = cancel["403"]["content"]["application/json"]["schema"]["$ref"]
    assert refusal == "#/components/schemas/ErrorDetail"
    assert schema["components"]["schemas"]["ErrorDetail"]["required"] == ["detail"]
    # A public list: anyone may be refused (staff before two-factor authentication), a page may
    # not exist, a filter may be invalid; no body, so no 415.
    assert set(paths["/api/projects/"]["get"]["responses"]) == {"200", "400", "403", "404"}
    # A page of one's own without parameters cannot be a bad request.
    assert set(paths["/api/notifications/"]["get"]["responses"]) == {"200", "403"}
