"""Campaign, agreement, adjudication and export routes: roles, CSRF, bad input writes nothing."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend import db
from backend.models import Assignment, Campaign, Decision, LabelRevision
from tests.conftest import login
from tests.quality_data import make_dataset, two_annotator_campaign


def _counts() -> tuple[int, ...]:
    with db.get_sessionmaker()() as s:
        return tuple(
            s.scalar(select(func.count()).select_from(t))
            for t in (Campaign, Assignment, Decision, LabelRevision)
        )


@pytest.fixture
def people(client: TestClient, make_user, session):  # noqa: ANN001, ANN201
    make_user("admin", "admin")
    make_user("rev", "reviewer")
    a, b = make_user("ann1"), make_user("ann2")
    dataset = make_dataset(session, n_patches=4)
    return {"dataset": dataset, "a": a, "b": b}


def _body(people: dict, **changes) -> dict:  # noqa: ANN003
    return {
        "name": "c1",
        "dataset_id": people["dataset"].id,
        "overlap": 2,
        "user_ids": [people["a"].id, people["b"].id],
    } | changes


def test_admin_creates_and_reviewer_follows_progress(client: TestClient, people: dict) -> None:
    login(client, "admin")
    created = client.post(
        "/api/v1/campaigns", json=_body(people, filter={"split": ["train", "val"]})
    )
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["n_assignments"] == 2 * campaign["n_patches"] and campaign["done"] == 0
    assert [c["id"] for c in client.get("/api/v1/campaigns").json()] == [campaign["id"]]
    login(client, "rev")
    progress = client.get(f"/api/v1/campaigns/{campaign['id']}/progress").json()
    assert {a["annotator"] for a in progress["annotators"]} == {"ann1", "ann2"}
    assert client.get(f"/campaigns/{campaign['id']}").status_code == 200
    login(client, "ann1")
    assert client.get(f"/api/v1/campaigns/{campaign['id']}/progress").status_code == 403


@pytest.mark.parametrize(
    ("user", "changes", "csrf", "status", "message"),
    [
        ("ann1", {}, True, 403, "admin role"),
        ("rev", {}, True, 403, "admin role"),
        ("admin", {}, False, 403, "CSRF"),
        ("admin", {"dataset_id": 999}, True, 404, "No dataset"),
        ("admin", {"overlap": 3}, True, 422, "Overlap"),
        ("admin", {"user_ids": [999]}, True, 422, "Unknown or inactive"),
        ("admin", {"filter": {"external_ids": ["nope"]}}, True, 422, "selects no patch"),
        ("admin", {"gold_external": {"nope": "reject"}}, True, 422, "Gold"),
        ("admin", {"overlap": "two"}, True, 422, None),
    ],
)
def test_bad_campaign_requests_write_nothing(
    client: TestClient,
    people: dict,
    user: str,
    changes: dict,
    csrf: bool,
    status: int,
    message: str | None,
) -> None:
    login(client, user)
    before = _counts()
    headers = {} if csrf else {"X-CSRF-Token": "forged"}
    response = client.post("/api/v1/campaigns", json=_body(people, **changes), headers=headers)
    assert response.status_code == status, response.text
    if message:
        assert message in str(response.json()["detail"])
    assert _counts() == before


def test_duplicate_name_conflicts(client: TestClient, people: dict) -> None:
    login(client, "admin")
    assert client.post("/api/v1/campaigns", json=_body(people)).status_code == 201
    before = _counts()
    assert client.post("/api/v1/campaigns", json=_body(people)).status_code == 409
    assert _counts() == before


@pytest.fixture
def worked(client: TestClient, make_user, session):  # noqa: ANN001, ANN201
    make_user("rev", "reviewer")
    return two_annotator_campaign(session, make_user)


def test_agreement_and_disagreements_for_reviewers_only(client: TestClient, worked: dict) -> None:
    cid = worked["campaign"].id
    login(client, "annotator_a")
    assert client.get(f"/api/v1/campaigns/{cid}/agreement").status_code == 403
    assert client.get(f"/api/v1/campaigns/{cid}/disagreements").status_code == 403
    login(client, "rev")
    report = client.get(f"/api/v1/campaigns/{cid}/agreement").json()
    assert report["fleiss_kappa"] == pytest.approx(0.375)
    assert report["pairs"][0]["cohen_kappa"] is not None
    assert len(client.get(f"/api/v1/campaigns/{cid}/disagreements").json()) == 3
    assert client.get("/api/v1/campaigns/999/agreement").status_code == 404
    assert client.get(f"/campaigns/{cid}/agreement").status_code == 200


def test_adjudicate_roles_csrf_and_bad_input(client: TestClient, worked: dict) -> None:
    p = worked["patches"]
    url = f"/api/v1/patches/{p[1].id}/adjudicate"
    login(client, "annotator_a")
    before = _counts()
    assert client.post(url, json={"reject": True}).status_code == 403
    login(client, "rev")
    assert client.post(url, json={"reject": True}, headers={"X-CSRF-Token": "x"}).status_code == 403
    assert client.post(url, json={}).status_code == 422
    assert client.post(url, json={"revision_id": 99999}).status_code == 404
    assert client.post("/api/v1/patches/99999/adjudicate", json={"reject": True}).status_code == 404
    assert _counts() == before
    versions = client.get(f"/api/v1/patches/{p[1].id}/versions").json()
    settled = client.post(
        url, json={"revision_id": versions["original_revision_id"], "comment": "fine"}
    )
    assert settled.status_code == 201, settled.text
    assert settled.json()["patch_status"] == "accepted" and settled.json()["kind"] == "accept"
    assert (
        client.get(f"/adjudication/{p[1].id}?campaign={worked['campaign'].id}").status_code == 200
    )


def test_export_create_and_download(client: TestClient, worked: dict) -> None:
    login(client, "annotator_a")
    assert client.post("/api/v1/exports", json={}).status_code == 403
    login(client, "rev")
    assert client.post("/api/v1/exports", json={}, headers={"X-CSRF-Token": "x"}).status_code == 403
    assert client.post("/api/v1/exports", json={"formats": ["pdf"]}).status_code == 422
    assert client.post("/api/v1/exports", json={"dataset": "nowhere"}).status_code == 404
    assert client.get("/api/v1/exports").json() == []
    made = client.post("/api/v1/exports", json={"formats": ["csv", "gpkg"]})
    assert made.status_code == 201, made.text
    download = client.get(made.json()["url"])
    assert download.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert {"patches.csv", "decisions.csv", "validation.gpkg", "export.json"} <= set(names)
    assert client.get("/api/v1/exports/..%2Fsitslab.db").status_code == 404
    assert client.get("/api/v1/exports/missing.zip").status_code == 404
