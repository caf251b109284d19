"""Patch detail, imagery PNGs (cached), pixel series, label raw array and history."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backend.models import LabelRevision
from backend.services import imagery
from tests.conftest import login
from tests.review_factory import CODES, make_world


@pytest.fixture
def world(session, make_user):  # noqa: ANN001, ANN201
    return make_world(session, make_user)


def _png(response) -> np.ndarray:  # noqa: ANN001
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_detail_lists_dates_revision_legend_and_clearest_date(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    patch = world.patches[0]
    body = client.get(f"/api/v1/patches/{patch.id}").json()
    assert body["dates"] == patch.dates and body["height"] == 16
    assert body["revision"]["version"] == 1
    # Date 0 is half cloudy in the factory, so the page opens on a clear one.
    assert body["cloud_fraction"][0] == 0.5 and body["default_date"] == 1
    assert {c["code"] for c in body["legend"]} >= set(CODES)
    assert body["urls"]["label"].endswith(f"/labels/{body['revision']['id']}.png")


def test_unknown_patch_is_404_and_anonymous_is_401(client, world) -> None:  # noqa: ANN001
    assert client.get(f"/api/v1/patches/{world.patches[0].id}").status_code == 401
    login(client, "ann1")
    response = client.get("/api/v1/patches/9999")
    assert response.status_code == 404 and "9999" in response.json()["detail"]
    assert client.get("/api/v1/patches/9999/images/0/true.png").status_code == 404


@pytest.mark.parametrize("view", ["true", "false", "ndvi"])
def test_views_render_native_size_rgb(client, world, view: str) -> None:  # noqa: ANN001
    login(client, "ann1")
    image = _png(client.get(f"/api/v1/patches/{world.patches[0].id}/images/1/{view}.png"))
    assert image.shape == (16, 16, 3)
    assert image.std() > 0  # not a flat image


def test_true_colour_uses_b4_b3_b2_with_percentile_stretch(data_dir, world) -> None:  # noqa: ANN001
    folder = data_dir / world.patches[0].store_dir
    data = imagery.load_patch(folder)
    rgb = imagery.render_view(folder, 2, "true")
    red = np.asarray(data.series[2, data.bands.index("B4")])
    # The brightest red reflectance maps to the brightest red channel, darkest to darkest.
    assert rgb[..., 0].flat[red.argmax()] == 255 and rgb[..., 0].flat[red.argmin()] == 0


def test_ndvi_formula() -> None:
    nir, red = np.array([3000, 1000, -10000]), np.array([1000, 1000, 500])
    value = imagery.ndvi(nir, red)
    assert value[0] == pytest.approx(0.5) and value[1] == 0 and np.isnan(value[2])


def test_bad_view_or_date_is_422(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    pid = world.patches[0].id
    assert client.get(f"/api/v1/patches/{pid}/images/1/infrared.png").status_code == 422
    response = client.get(f"/api/v1/patches/{pid}/images/99/true.png")
    assert response.status_code == 422 and "99" in response.json()["detail"]


def test_images_are_immutable_with_etag(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    url = f"/api/v1/patches/{world.patches[0].id}/images/1/false.png"
    first = client.get(url)
    assert "immutable" in first.headers["cache-control"]
    again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    other = client.get(url.replace("/1/", "/2/"))
    assert other.headers["etag"] != first.headers["etag"]


def test_cloud_overlay_marks_clouds_only(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    rgba = _png(client.get(f"/api/v1/patches/{world.patches[0].id}/clouds/0.png"))
    assert rgba.shape == (16, 16, 4)
    assert (rgba[:8, :, 3] > 0).all() and (rgba[8:, :, 3] == 0).all()


def test_label_png_in_nomenclature_colours(client, world, session) -> None:  # noqa: ANN001
    login(client, "ann1")
    detail = client.get(f"/api/v1/patches/{world.patches[0].id}").json()
    rgba = _png(client.get(detail["urls"]["label"]))
    raw = client.get(detail["urls"]["label_raw"])
    codes = np.frombuffer(raw.content, dtype=np.uint8).reshape(16, 16)
    colours = {c["code"]: c["colour"] for c in detail["legend"]}
    r, g, b, a = rgba[0, 0]
    assert f"#{r:02x}{g:02x}{b:02x}" == colours[int(codes[0, 0])].lower() and a == 255
    assert set(np.unique(codes)) <= set(CODES)


def test_current_label_redirects_to_the_revision(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    patch = world.patches[0]
    response = client.get(f"/api/v1/patches/{patch.id}/labels/current.png", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"].endswith(f"/labels/{patch.revisions[0].id}.png")


def test_label_of_another_patch_is_404(client, world, session) -> None:  # noqa: ANN001
    login(client, "ann1")
    other = session.query(LabelRevision).filter_by(patch_id=world.patches[1].id).one()
    response = client.get(f"/api/v1/patches/{world.patches[0].id}/labels/{other.id}.png")
    assert response.status_code == 404


def test_strip_has_one_thumbnail_per_date(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    response = client.get(f"/api/v1/patches/{world.patches[0].id}/strip/true.webp?size=24")
    assert response.headers["content-type"] == "image/webp"
    strip = np.asarray(Image.open(io.BytesIO(response.content)))
    assert strip.shape == (24, 24 * 4, 3)


def test_pixel_series_has_ndvi_bands_cloud_and_label(client, world, data_dir) -> None:  # noqa: ANN001
    login(client, "ann1")
    patch = world.patches[0]
    body = client.get(f"/api/v1/patches/{patch.id}/pixel?row=3&col=5").json()
    data = imagery.load_patch(data_dir / patch.store_dir)
    nir, red = data.series[:, 6, 3, 5].astype(float), data.series[:, 2, 3, 5].astype(float)
    assert body["ndvi"] == pytest.approx(list((nir - red) / (nir + red)), abs=1e-4)
    assert body["bands"]["B8"] == [int(v) for v in data.series[:, 6, 3, 5]]
    assert body["cloud"] == [1, 0, 0, 0]
    assert body["label"] in CODES and body["label_name"]
    assert client.get(f"/api/v1/patches/{patch.id}/pixel?row=16&col=0").status_code == 422


def test_history_starts_with_the_ingested_revision(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    body = client.get(f"/api/v1/patches/{world.patches[0].id}/history").json()
    assert body["decisions"] == [] and [r["version"] for r in body["revisions"]] == [1]
    assert body["status"] == "unreviewed"


def test_patch_page_shows_history(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    pid = world.patches[0].id
    client.post("/api/v1/decisions", json={"patch_id": pid, "kind": "accept", "comment": "fine"})
    page = client.get(f"/patches/{pid}")
    assert page.status_code == 200
    assert "ann1" in page.text and "accept" in page.text and "fine" in page.text
