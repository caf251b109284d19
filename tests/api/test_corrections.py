"""Corrections: a new label revision from PNG / raw / JSON; every bad case writes nothing."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.models import Patch
from ml.data import store
from tests.conftest import login
from tests.review_factory import counts, make_world


@pytest.fixture
def world(session, make_user):  # noqa: ANN001, ANN201
    return make_world(session, make_user)


def _labels(value: int = 11, size: int = 16) -> np.ndarray:
    labels = np.full((size, size), 5, dtype=np.uint8)
    labels[4:9, 2:7] = value
    return labels


def _png(labels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(labels).save(buffer, format="PNG")
    return buffer.getvalue()


def _post(client, patch, content: bytes, base: int | None = None, **form):  # noqa: ANN001, ANN202
    data = {"base_revision_id": str(base if base is not None else patch.revisions[0].id), **form}
    return client.post(
        f"/api/v1/patches/{patch.id}/corrections",
        data=data,
        files={"file": ("mask", content, "application/octet-stream")},
    )


def _label_files(data_dir: Path) -> set[Path]:
    return set((data_dir / "labels").rglob("*.tif"))


@pytest.mark.parametrize("encode", ["png", "raw", "json", "rle"])
def test_correction_becomes_the_current_revision(
    client, world, session, data_dir, encode: str
) -> None:  # noqa: ANN001, E501
    login(client, "ann1")
    patch = world.patches[0]
    labels = _labels()
    content = {
        "png": lambda: _png(labels),
        "raw": labels.tobytes,
        "json": lambda: json.dumps({"height": 16, "width": 16, "data": labels.tolist()}).encode(),
        "rle": lambda: json.dumps(
            {"height": 16, "width": 16, "rle": [[int(v), 1] for v in labels.ravel()]}
        ).encode(),
    }[encode]()
    response = _post(client, patch, content, comment="hedge was grassland", confidence=5)
    assert response.status_code == 201, response.text
    revision = response.json()
    assert revision["version"] == 2 and revision["parent_id"] == patch.revisions[0].id
    assert revision["author"] == "ann1"
    detail = client.get(f"/api/v1/patches/{patch.id}").json()
    assert detail["revision"]["id"] == revision["id"] and detail["status"] == "corrected"
    raw = client.get(detail["urls"]["label_raw"]).content
    assert np.array_equal(np.frombuffer(raw, dtype=np.uint8).reshape(16, 16), labels)
    # The old revision is kept, untouched.
    old = store.read_label(data_dir / patch.revisions[0].file)
    assert not np.array_equal(old, labels)
    history = client.get(f"/api/v1/patches/{patch.id}/history").json()
    assert history["decisions"][-1]["kind"] == "correct"
    assert history["decisions"][-1]["new_revision_id"] == revision["id"]
    # Undo cannot silently drop a saved revision.
    assert client.post("/api/v1/decisions", json={"kind": "undo"}).status_code == 409


def _refused(client, session, data_dir, patch, content, status: int, **kw):  # noqa: ANN001, ANN202
    before, files = counts(session), _label_files(data_dir)
    response = _post(client, patch, content, **kw)
    assert response.status_code == status, response.text
    assert counts(session) == before and _label_files(data_dir) == files
    session.expire_all()
    assert session.get(Patch, patch.id).status == "unreviewed"
    return response.json()


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(_png(np.full((8, 16), 5, np.uint8)), id="png-wrong-size"),
        pytest.param(np.full((15, 16), 5, np.uint8).tobytes(), id="raw-wrong-size"),
        pytest.param(b'{"height": 16, "width": 16, "data": [1, 2]}', id="json-short"),
        pytest.param(b'{"oops": 1}', id="json-shape"),
        pytest.param(_png(np.zeros((16, 16, 3), np.uint8)), id="png-rgb"),
        pytest.param(b"\x89PNG\r\n\x1a\nbroken", id="png-broken"),
    ],
)
def test_malformed_raster_is_422(client, world, session, data_dir, content: bytes) -> None:  # noqa: ANN001
    login(client, "ann1")
    _refused(client, session, data_dir, world.patches[0], content, 422)


def test_unknown_class_code_is_422_and_named(client, world, session, data_dir) -> None:  # noqa: ANN001
    login(client, "ann1")
    body = _refused(client, session, data_dir, world.patches[0], _labels(value=99).tobytes(), 422)
    assert body["unknown_codes"] == [99] and "99" in body["detail"]


def test_stale_base_revision_is_409_with_the_newer_id(client, world, session, data_dir) -> None:  # noqa: ANN001
    patch = world.patches[0]
    base = patch.revisions[0].id
    login(client, "ann1")
    newer = _post(client, patch, _labels().tobytes()).json()
    login(client, "ann2")  # ann2 still edits revision 1
    before, files = counts(session), _label_files(data_dir)
    response = _post(client, patch, _labels(13).tobytes(), base=base)
    assert response.status_code == 409
    assert response.json()["current_revision_id"] == newer["id"]
    assert counts(session) == before and _label_files(data_dir) == files


def test_not_assigned_csrf_unknown_patch_refused(client, world, session, data_dir) -> None:  # noqa: ANN001
    patch = world.patches[0]
    login(client, "outsider")
    _refused(client, session, data_dir, patch, _labels().tobytes(), 403)
    login(client, "ann1")
    token = client.headers.pop("X-CSRF-Token")
    _refused(client, session, data_dir, patch, _labels().tobytes(), 403)
    client.headers["X-CSRF-Token"] = token
    before = counts(session)
    response = client.post(
        "/api/v1/patches/9999/corrections",
        data={"base_revision_id": "1"},
        files={"file": ("mask", _labels().tobytes(), "application/octet-stream")},
    )
    assert response.status_code == 404 and counts(session) == before


def test_bad_form_fields_are_422(client, world, session, data_dir) -> None:  # noqa: ANN001
    login(client, "ann1")
    _refused(client, session, data_dir, world.patches[0], _labels().tobytes(), 422, confidence="9")


def test_reviewer_may_correct_any_patch(client, world) -> None:  # noqa: ANN001
    login(client, "rev")
    response = _post(client, world.patches[1], _labels().tobytes())
    assert response.status_code == 201 and response.json()["author"] == "rev"
