"""A request that does not fit the API's schema gets the app's one error shape: a sentence
a person can act on in "detail", every field's message under "errors"."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import login


def test_a_body_that_is_not_json_or_lacks_a_field(client: TestClient) -> None:
    broken = client.post(
        "/api/v1/auth/login", content=b'{"username": ', headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["detail"].startswith("Invalid body: not valid JSON (")
    assert list(broken.json()["errors"]) == ["body"]
    partial = client.post("/api/v1/auth/login", json={"username": "ann"})
    assert partial.status_code == 422
    assert partial.json() == {
        "detail": "Invalid password: Field required",
        "errors": {"password": "Field required"},
    }


def test_query_and_path_parameters_are_named_without_their_source(
    client: TestClient,
    make_user,  # noqa: ANN001
) -> None:
    make_user("ann", "annotator")
    login(client, "ann")
    query = client.get("/api/v1/training-sets", params={"dataset_id": "tiny", "purpose": "x"})
    assert query.status_code == 422
    errors = query.json()["errors"]
    assert set(errors) == {"dataset_id", "purpose"}
    assert errors["dataset_id"].startswith("Input should be a valid integer")
    first = next(iter(errors))  # the first the route declares reads as the sentence
    assert query.json()["detail"] == f"Invalid {first}: {errors[first]}"
    path = client.get("/api/v1/training-sets/first")
    assert path.status_code == 422
    assert path.json()["detail"].startswith("Invalid training_set_id: Input should be a valid")
