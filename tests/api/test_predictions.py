"""A real (tiny) Random Forest run's prediction overlaid on a patch: PNG, caching, agreement."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select

from backend.models import Dataset, LabelRevision, Patch
from backend.services.labels import patch_nomenclature
from ml.data import store
from ml.rf import load_predictor
from tests.conftest import login
from tests.run_factory import add_run, train_tiny_rf


@pytest.fixture(scope="module")
def rf_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished RF run, trained once for the module."""
    return train_tiny_rf(tmp_path_factory.mktemp("rf"))


@pytest.fixture
def world(session, data_dir, ingested_dataset: Dataset, make_user, rf_run_dir):  # noqa: ANN001, ANN201
    make_user("ann")
    rf = add_run(session, data_dir, "rf-tiny", rf_run_dir)
    pretrain = add_run(session, data_dir, "pretrain")
    (data_dir / pretrain.out_dir / "run.json").write_text(
        json.dumps({"kind": "ubarn", "stage": "pretrain"})
    )
    unfinished = add_run(session, data_dir, "unfinished")
    patch = session.scalars(select(Patch).where(Patch.dataset_id == ingested_dataset.id)).first()
    return {"patch": patch, "rf": rf, "pretrain": pretrain, "unfinished": unfinished}


def _expected(data_dir: Path, patch: Patch, rf_run_dir: Path) -> np.ndarray:
    predictor = load_predictor(rf_run_dir)
    data = store.read_patch(data_dir / patch.store_dir)
    proba = predictor.predict_proba(data.series, data.clouds, data.dates, data.bands)
    return np.asarray(predictor.classes, dtype=np.uint8)[proba.argmax(axis=0)]


def test_only_runs_with_a_classifier_are_predictable(client, world) -> None:  # noqa: ANN001
    assert client.get("/api/v1/runs/predictable").status_code == 401
    login(client, "ann")
    response = client.get("/api/v1/runs/predictable")
    assert response.status_code == 200, response.text
    assert response.json() == [{"id": world["rf"].id, "name": "rf-tiny", "kind": "rf"}]


def test_prediction_png_in_nomenclature_colours_cached(
    client,
    session,
    data_dir,
    world,
    rf_run_dir,  # noqa: ANN001
) -> None:
    login(client, "ann")
    patch, run = world["patch"], world["rf"]
    url = f"/api/v1/patches/{patch.id}/predictions/{run.id}.png"
    response = client.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    assert "immutable" in response.headers["cache-control"]
    rgba = np.asarray(Image.open(io.BytesIO(response.content)))
    assert rgba.shape == (patch.height, patch.width, 4)
    colormap = patch_nomenclature(session=session, patch=patch).colormap()
    expected = _expected(data_dir, patch, rf_run_dir)
    np.testing.assert_array_equal(
        rgba, np.array([colormap[int(c)] for c in expected.ravel()]).reshape(rgba.shape)
    )
    again = client.get(url, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_agreement_with_the_current_revision(
    client,
    session,
    data_dir,
    world,
    rf_run_dir,  # noqa: ANN001
) -> None:
    login(client, "ann")
    patch, run = world["patch"], world["rf"]
    url = f"/api/v1/patches/{patch.id}/predictions/{run.id}"
    predicted = _expected(data_dir, patch, rf_run_dir)
    revision = session.scalars(
        select(LabelRevision).where(LabelRevision.patch_id == patch.id)
    ).one()
    labels = store.read_label(data_dir / revision.file)
    ignore = list(patch_nomenclature(session=session, patch=patch).ignore_codes)
    judged = ~np.isin(labels, ignore)
    body = client.get(url).json()
    assert body["revision_id"] == revision.id and body["pixels"] == int(judged.sum())
    assert body["agreement"] == pytest.approx((predicted == labels)[judged].mean(), abs=1e-4)
    assert body["url"] == f"{url}.png" and body["run"]["name"] == "rf-tiny"

    # A revision equal to the prediction agrees everywhere it is judged.
    transform = store.read_patch(data_dir / patch.store_dir).transform
    store.write_label(data_dir / "labels" / "agree.tif", predicted, patch.crs, transform)
    session.add(
        LabelRevision(patch_id=patch.id, version=2, source="correction", file="labels/agree.tif")
    )
    session.commit()
    body = client.get(url).json()
    assert body["revision_id"] != revision.id and body["agreement"] == 1.0


def test_unknown_patch_or_run_is_404(client, world) -> None:  # noqa: ANN001
    login(client, "ann")
    patch, run = world["patch"], world["rf"]
    response = client.get(f"/api/v1/patches/{patch.id}/predictions/9999.png")
    assert response.status_code == 404 and "9999" in response.json()["detail"]
    assert client.get(f"/api/v1/patches/9999/predictions/{run.id}.png").status_code == 404
    assert client.get(f"/api/v1/patches/{patch.id}/predictions/9999").status_code == 404


@pytest.mark.parametrize("name", ["pretrain", "unfinished"])
def test_run_without_a_classifier_is_422(client, world, name: str) -> None:  # noqa: ANN001
    login(client, "ann")
    run = world[name]
    for suffix in (".png", ""):
        response = client.get(f"/api/v1/patches/{world['patch'].id}/predictions/{run.id}{suffix}")
        assert response.status_code == 422, response.text
        assert "no classifier" in response.json()["detail"]


def test_run_of_other_bands_is_422(client, session, data_dir, world) -> None:  # noqa: ANN001
    login(client, "ann")
    source = data_dir / world["rf"].out_dir
    meta = json.loads((source / "run.json").read_text())
    other = add_run(session, data_dir, "rf-other-bands", source)
    (data_dir / other.out_dir / "run.json").write_text(
        json.dumps({**meta, "bands": [*meta["bands"], "B13"]})
    )
    response = client.get(f"/api/v1/patches/{world['patch'].id}/predictions/{other.id}.png")
    assert response.status_code == 422, response.text
    assert "cannot predict" in response.json()["detail"]
