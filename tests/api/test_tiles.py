"""Map tiles by product id: palette colours only, 404 for unknown ids, empty tiles, ETag/304."""

from __future__ import annotations

import io
from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
from PIL import Image
from rio_tiler.io import Reader
from sqlalchemy import select
from typer.testing import CliRunner

from backend import db
from backend.cli import app as cli
from backend.models import MapKind, MapProduct, User
from backend.services.map_products import register_product
from ml.predict import CLASS_NODATA
from tests.conftest import login
from tests.scenes import write_class_cog

COLOURS = {1: "#e6004d", 2: "#ff8c00", 3: "#33a02c"}
TMS = morecantile.tms.get("WebMercatorQuad")


def class_map(data_dir: Path) -> Path:
    """A 300 x 200 class map (three stripes, a nodata corner) near Toulouse as a COG."""
    classes = np.repeat(np.array([1, 2, 3], dtype=np.uint8), 100)[None, :].repeat(200, axis=0)
    classes[:20, :20] = CLASS_NODATA
    return write_class_cog(data_dir, classes, COLOURS)


@pytest.fixture
def product(database: str, data_dir: Path) -> dict:
    with db.get_sessionmaker()() as session:
        row = register_product(
            session=session, kind=MapKind.classes, name="DL classes", path=class_map(data_dir)
        )
        session.commit()
        return {"id": row.id, **row.meta}


def centre_tile(product: dict) -> morecantile.Tile:
    west, south, east, north = product["bounds"]
    return TMS.tile((west + east) / 2, (south + north) / 2, product["maxzoom"])


def test_class_tiles_hold_only_palette_colours(admin_client, product: dict) -> None:
    tile = centre_tile(product)
    response = admin_client.get(
        f"/api/v1/maps/{product['id']}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    )
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    rgba = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGBA")).reshape(-1, 4)
    opaque = {tuple(p[:3]) for p in rgba[rgba[:, 3] == 255]}
    palette = {tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in COLOURS.values()}
    assert opaque and opaque <= palette
    assert set(np.unique(rgba[:, 3])) <= {0, 255}


def test_unknown_product_is_404(admin_client, product: dict) -> None:
    response = admin_client.get("/api/v1/maps/999/tiles/WebMercatorQuad/10/500/400.png")
    assert response.status_code == 404
    assert admin_client.get("/api/v1/maps/999").status_code == 404


def test_tile_outside_bounds_is_empty_not_500(admin_client, product: dict) -> None:
    response = admin_client.get(
        f"/api/v1/maps/{product['id']}/tiles/WebMercatorQuad/{product['maxzoom']}/0/0.png"
    )
    assert response.status_code == 200
    alpha = np.asarray(Image.open(io.BytesIO(response.content)).convert("RGBA"))[..., 3]
    assert (alpha == 0).all()


def test_point_outside_is_404_and_bad_colormap_is_400(admin_client, product: dict) -> None:
    assert admin_client.get(f"/api/v1/maps/{product['id']}/point/-120,40").status_code == 404
    tile = centre_tile(product)
    url = f"/api/v1/maps/{product['id']}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    assert admin_client.get(url, params={"colormap_name": "nope"}).status_code in (400, 422)


def test_etag_and_304(admin_client, product: dict) -> None:
    tile = centre_tile(product)
    url = f"/api/v1/maps/{product['id']}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    first = admin_client.get(url)
    etag = first.headers["etag"]
    assert "max-age" in first.headers["cache-control"]
    again = admin_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert admin_client.get(url).content == first.content


def test_tiles_need_a_login(client, make_user, product: dict) -> None:
    tile = centre_tile(product)
    url = f"/api/v1/maps/{product['id']}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    assert client.get(url).status_code == 401
    make_user("ann", "annotator")
    login(client, "ann")
    assert client.get(url).status_code == 200
    client.post("/api/v1/auth/logout")
    client.headers.pop("X-CSRF-Token", None)
    assert client.get(url).status_code == 401  # a cached tile is not served without a session


def test_a_deactivated_account_gets_no_more_tiles(client, make_user, product: dict) -> None:
    make_user("ann", "annotator")
    login(client, "ann")
    base = f"/api/v1/maps/{product['id']}"
    assert client.get(f"{base}/WebMercatorQuad/tilejson.json").status_code == 200
    with db.get_sessionmaker()() as session:
        session.scalars(select(User).where(User.username == "ann")).one().active = False
        session.commit()
    tile = centre_tile(product)
    response = client.get(f"{base}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png")
    assert response.status_code == 401 and "Log in" in response.json()["detail"]
    assert client.get(f"{base}/point/1.44,43.6").status_code == 401


def test_map_meta_has_bounds_and_areas(admin_client, product: dict) -> None:
    meta = admin_client.get(f"/api/v1/maps/{product['id']}").json()
    assert meta["kind"] == "classes" and meta["maxzoom"] >= meta["minzoom"]
    west, south, east, north = meta["bounds"]
    assert 1.0 < west < east < 2.0 and 43.0 < south < north < 44.0
    assert meta["tiles"].startswith(f"/api/v1/maps/{product['id']}/tiles/WebMercatorQuad/")
    assert [m["id"] for m in admin_client.get("/api/v1/maps").json()] == [product["id"]]


def test_tilejson_points_back_at_the_product(admin_client, product: dict) -> None:
    """router_prefix equals the mount prefix, so tilejson's tile URLs carry the product id."""
    body = admin_client.get(f"/api/v1/maps/{product['id']}/WebMercatorQuad/tilejson.json").json()
    assert f"/api/v1/maps/{product['id']}/tiles/WebMercatorQuad/" in body["tiles"][0]
    assert "url=" not in body["tiles"][0]


def test_display_tiles_show_what_warping_the_native_map_showed(
    admin_client, product: dict, data_dir: Path
) -> None:
    """The display copy changes no pixel a user sees: a tile equals the native map warped
    per tile; the zoom range is the copy's, whose finest zoom skips no 10 m pixel."""
    tile = centre_tile(product)
    with Reader(str(data_dir / product["display_file"])) as display:
        assert display.crs.to_epsg() == 3857 and product["maxzoom"] == display.maxzoom
    with Reader(str(data_dir / "maps" / "classes.tif")) as native:
        assert native.maxzoom < product["maxzoom"]
        warped = native.tile(tile.x, tile.y, tile.z).render(
            img_format="PNG", colormap=native.colormap
        )
    url = f"/api/v1/maps/{product['id']}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    np.testing.assert_array_equal(decode_rgba(admin_client.get(url).content), decode_rgba(warped))


def test_tiles_read_the_display_copy_points_and_info_the_native_map(
    admin_client, product: dict, data_dir: Path
) -> None:
    with rasterio.open(
        data_dir / product["display_file"], "r+", IGNORE_COG_LAYOUT_BREAK="YES"
    ) as display:
        display.write(np.ones(display.shape, dtype=np.uint8), 1)  # all class 1 from now on
    tile = centre_tile(product)
    url = f"/api/v1/maps/{product['id']}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    rgba = decode_rgba(admin_client.get(url).content).reshape(-1, 4)
    assert {tuple(p[:3]) for p in rgba[rgba[:, 3] == 255]} == {(0xE6, 0x00, 0x4D)}
    tilejson = admin_client.get(f"/api/v1/maps/{product['id']}/WebMercatorQuad/tilejson.json")
    assert tilejson.json()["maxzoom"] == product["maxzoom"]
    info = admin_client.get(f"/api/v1/maps/{product['id']}/info").json()
    assert (info["width"], info["height"]) == (300, 200)
    west, south, east, north = product["bounds"]
    point = admin_client.get(
        f"/api/v1/maps/{product['id']}/point/{west + 0.9 * (east - west)},{(south + north) / 2}"
    )
    assert point.json()["values"] == [3]


def test_a_product_without_display_copy_is_still_tiled(admin_client, product: dict) -> None:
    """Products registered before display copies existed are warped per tile, as before."""
    with db.get_sessionmaker()() as session:
        row = session.get(MapProduct, product["id"])
        row.meta = {k: v for k, v in row.meta.items() if k != "display_file"}
        session.commit()
    tile = centre_tile(product)
    response = admin_client.get(
        f"/api/v1/maps/{product['id']}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}.png"
    )
    assert response.status_code == 200
    assert (decode_rgba(response.content)[..., 3] == 255).any()


def decode_rgba(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_init_writes_the_display_copies_older_products_lack(
    admin_client, product: dict, data_dir: Path
) -> None:
    """Products registered before display copies existed get theirs from `sitslab init`
    (run by `make run`), once; one whose file is gone is left alone."""
    (data_dir / product["display_file"]).unlink()
    with db.get_sessionmaker()() as session:
        older = session.get(MapProduct, product["id"])
        kept = {k: v for k, v in older.meta.items() if k != "display_file"}
        older.meta = {**kept, "maxzoom": product["maxzoom"] - 1}  # the native file's
        gone = MapProduct(kind="classes", name="gone", file="maps/gone.tif", meta={})
        session.add(gone)
        session.commit()
        gone_id = gone.id
    first = CliRunner().invoke(cli, ["init"])
    assert first.exit_code == 0 and "display copies written for 1 older map" in first.output
    with db.get_sessionmaker()() as session:
        meta = session.get(MapProduct, product["id"]).meta
        assert meta["display_file"] == product["display_file"]
        assert meta["maxzoom"] == product["maxzoom"]
        assert session.get(MapProduct, gone_id).meta == {}
    assert (data_dir / product["display_file"]).exists()
    again = CliRunner().invoke(cli, ["init"])
    assert again.exit_code == 0 and "display copies" not in again.output
