"""Login, sessions, roles and CSRF through the real app."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, login


def test_health_reports_the_database(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "sqlite"}


def test_login_sets_an_httponly_samesite_cookie(client: TestClient, make_user) -> None:
    make_user("ann", "annotator")
    response = client.post("/api/v1/auth/login", json={"username": "ann", "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["role"] == "annotator"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert client.get("/api/v1/auth/me").json()["username"] == "ann"


def test_wrong_password_is_refused_without_a_session(client: TestClient, make_user) -> None:
    make_user("ann")
    response = client.post("/api/v1/auth/login", json={"username": "ann", "password": "nope-nope"})
    assert response.status_code == 401
    assert "Wrong user name or password" in response.json()["detail"]
    assert client.get("/api/v1/auth/me").status_code == 401


def test_pages_redirect_to_login_and_back(client: TestClient, make_user) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"
    make_user("ann")
    login(client, "ann")
    assert client.get("/").status_code == 200


def test_logout_ends_the_session(client: TestClient, make_user) -> None:
    make_user("ann")
    login(client, "ann")
    assert client.post("/api/v1/auth/logout").status_code == 200
    assert client.get("/api/v1/auth/me").status_code == 401


def test_mutation_without_csrf_token_is_refused(client: TestClient, make_user) -> None:
    make_user("boss", "admin")
    login(client, "boss")
    del client.headers["X-CSRF-Token"]
    files = {"file": ("n.json", b'{"name": "x", "classes": []}', "application/json")}
    response = client.post("/api/v1/nomenclatures", files=files)
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    names = [n["name"] for n in client.get("/api/v1/nomenclatures").json()]
    assert "x" not in names


def test_annotator_cannot_load_a_nomenclature(client: TestClient, make_user) -> None:
    make_user("ann", "annotator")
    login(client, "ann")
    files = {"file": ("n.json", b'{"name": "x", "classes": []}', "application/json")}
    response = client.post("/api/v1/nomenclatures", files=files)
    assert response.status_code == 403
    assert "admin role" in response.json()["detail"]
