"""The OpenAPI document is complete, and Swagger UI is served from the app's own files."""
from __future__ import annotations

import re

import pytest

OPERATIONS = {
    ("/api/v1/tickets", "get"): {"query": {"page", "limit", "status", "priority", "assignee", "tag", "q", "sort",
                                           "cursor"}, "body": None, "success": "200", "errors": {"401", "403", "422"}},
    ("/api/v1/tickets", "post"): {"query": set(), "body": "TicketCreate", "success": "201",
                                  "errors": {"401", "403", "422"}},
    ("/api/v1/tickets/{number}", "get"): {"query": set(), "body": None, "success": "200",
                                          "errors": {"401", "403", "404"}},
    ("/api/v1/tickets/{number}", "patch"): {"query": set(), "body": "TicketUpdate", "success": "200",
                                            "errors": {"401", "403", "404", "409", "422"}},
    ("/api/v1/tickets/{number}/comments", "get"): {"query": {"page", "limit"}, "body": None, "success": "200",
                                                   "errors": {"401", "403", "404", "422"}},
    ("/api/v1/tickets/{number}/comments", "post"): {"query": set(), "body": "CommentCreate", "success": "201",
                                                    "errors": {"401", "403", "404", "409", "422"}},
    ("/api/v1/users", "get"): {"query": {"page", "limit"}, "body": None, "success": "200",
                               "errors": {"401", "403", "422"}},
}


@pytest.fixture(scope="module")
def spec(app):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def test_document_is_openapi_3_with_bearer_auth(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Ticketry API"
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}


def test_every_path_and_operation_is_listed(spec):
    listed = {(path, method) for path, item in spec["paths"].items() for method in item if method != "parameters"}
    assert set(OPERATIONS) <= listed


def test_every_operation_needs_a_bearer_token(spec):
    """Whatever blueprint adds it, every API operation documents bearerAuth and its 401."""
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation["security"] == [{"bearerAuth": []}], (path, method)
            assert "401" in operation["responses"], (path, method)


@pytest.mark.parametrize("path,method", sorted(OPERATIONS))
def test_operation_is_fully_documented(spec, path, method):
    expected = OPERATIONS[(path, method)]
    operation = spec["paths"][path][method]
    assert operation["security"] == [{"bearerAuth": []}]
    assert operation.get("summary")

    query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
    assert query >= expected["query"]
    if "{number}" in path:
        path_params = spec["paths"][path].get("parameters", []) + operation.get("parameters", [])
        assert {"in": "path", "name": "number"}.items() <= next(p for p in path_params if p["in"] == "path").items()

    if expected["body"]:
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{expected['body']}"}
    else:
        assert "requestBody" not in operation

    responses = operation["responses"]
    assert expected["success"] in responses
    assert "$ref" in responses[expected["success"]]["content"]["application/json"]["schema"]
    assert expected["errors"] <= set(responses)


def test_created_ticket_documents_its_location(spec):
    assert "Location" in spec["paths"]["/api/v1/tickets"]["post"]["responses"]["201"]["headers"]


def test_list_parameters_are_constrained(spec):
    params = {p["name"]: p for p in spec["paths"]["/api/v1/tickets"]["get"]["parameters"]}
    assert params["limit"]["schema"]["maximum"] == 100
    assert params["limit"]["schema"]["default"] == 20
    assert params["status"]["schema"]["type"] == "array"
    assert set(params["status"]["schema"]["items"]["enum"]) == {"new", "open", "pending", "on_hold", "solved",
                                                                 "closed"}
    assert {"updated", "created", "priority"} <= set(params["sort"]["schema"]["enum"])


def test_schemas_are_camel_case(spec):
    schemas = spec["components"]["schemas"]
    assert set(schemas["Ticket"]["properties"]) >= {"number", "subject", "description", "status", "priority",
                                                    "requester", "assigneeId", "tags", "createdAt", "updatedAt"}
    assert set(schemas["Comment"]["properties"]) >= {"id", "body", "public", "author", "createdAt"}
    assert set(schemas["User"]["properties"]) >= {"id", "email", "name", "role", "active"}
    for name in ("Ticket", "TicketCreate", "TicketUpdate", "Comment", "CommentCreate", "User", "Pagination"):
        assert not [prop for prop in schemas[name]["properties"] if "_" in prop], name
    assert {"totalPages", "hasNext", "hasPrev", "nextCursor"} <= set(schemas["Pagination"]["properties"])
    assert set(schemas["TicketCreate"]["required"]) == {"subject", "description", "requester"}


def test_swagger_ui_uses_local_assets_only(app):
    response = app.test_client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sorted(assets) == ["/static/js/swagger-init.js",  # the initialiser: no inline script (CSP)
                              "/static/vendor/swagger-ui/swagger-ui-bundle.js",
                              "/static/vendor/swagger-ui/swagger-ui-standalone-preset.js",
                              "/static/vendor/swagger-ui/swagger-ui.css"]
    assert "/api/v1/openapi.json" in html
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io
    assert not re.search(r"https?://", html)
    for asset in assets:
        served = app.test_client().get(asset)
        assert served.status_code == 200
        assert len(served.data) > 1000
        served.close()
