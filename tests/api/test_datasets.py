"""Datasets over the API: listing, patches, and the admins' zip upload."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conftest import login


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path in folder.rglob("*"):
            if path.is_file() and "scene" not in path.parts:
                zf.write(path, Path("dataset") / path.relative_to(folder))
    return buffer.getvalue()


def test_admin_uploads_a_zipped_dataset(admin_client: TestClient, synthetic_source: Path) -> None:
    files = {"file": ("tiny.zip", _zip(synthetic_source), "application/zip")}
    response = admin_client.post(
        "/api/v1/datasets/ingest", files=files, data={"strict": "true", "name": "uploaded"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["added"] == 4
    datasets = admin_client.get("/api/v1/datasets").json()
    assert [(d["name"], d["n_patches"]) for d in datasets] == [("uploaded", 4)]
    assert datasets[0]["by_status"] == {"unreviewed": 4}
    patches = admin_client.get(f"/api/v1/datasets/{datasets[0]['id']}/patches").json()
    assert len(patches) == 4 and patches[0]["n_dates"] == 6


def test_upload_that_is_not_a_zip_is_refused(admin_client: TestClient) -> None:
    files = {"file": ("tiny.zip", b"not a zip", "application/zip")}
    response = admin_client.post("/api/v1/datasets/ingest", files=files)
    assert response.status_code == 422
    assert ".zip" in response.json()["detail"]
    assert admin_client.get("/api/v1/datasets").json() == []


def test_annotators_cannot_ingest(client: TestClient, make_user, synthetic_source: Path) -> None:
    make_user("ann", "annotator")
    login(client, "ann")
    files = {"file": ("tiny.zip", _zip(synthetic_source), "application/zip")}
    assert client.post("/api/v1/datasets/ingest", files=files).status_code == 403
    assert client.get("/api/v1/datasets").json() == []


def test_unknown_dataset_is_404(admin_client: TestClient) -> None:
    assert admin_client.get("/api/v1/datasets/42").status_code == 404
    assert admin_client.get("/api/v1/datasets/42/patches").status_code == 404
