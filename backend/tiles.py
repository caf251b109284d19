"""Map tiles through titiler, reachable only by map product id.

A titiler ``TilerFactory`` is mounted under ``/api/v1/maps/{product_id}`` with a
``path_dependency`` that checks the session's user and looks the product up in the
database (no active user -> 401, unknown id -> 404); no client ever sends a file path or
URL. Only the endpoints the explorer needs are kept (tiles, tilejson, info, point): no
viewer (it loads Leaflet from a CDN), no preview, no bbox/feature parts. Tiles come from
each product's Web-Mercator display copy, points and info from its native COG
(``product_path``). Rendered tiles are cached by product id, tile and query — products
are immutable files, so a tile's bytes never change — and served with an ETag, a long
Cache-Control and 304 on ``If-None-Match``. Errors: only specific rio-tiler errors are
registered (titiler's defaults turn every Exception into a 500 that echoes its text); a
tile outside a product's bounds is a transparent tile, a point outside is a 404.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, APIRouter
from rio_tiler.errors import (
    InvalidBandName,
    InvalidColorFormat,
    InvalidColorMapName,
    InvalidExpression,
    InvalidFormat,
    MissingBands,
    PointOutsideBounds,
    TileOutsideBounds,
)
from rio_tiler.utils import render
from starlette.concurrency import run_in_threadpool
from titiler.core.factory import TilerFactory

from backend.config import Settings, get_settings
from backend.db import get_sessionmaker
from backend.deps import LOG_IN_FIRST, session_user
from backend.errors import NotFound
from backend.models import MapProduct

PREFIX = "/api/v1/maps/{product_id}"
CACHE_CONTROL = "private, max-age=86400, immutable"
BAD_REQUEST = (
    InvalidBandName,
    InvalidFormat,
    InvalidExpression,
    InvalidColorFormat,
    InvalidColorMapName,
    MissingBands,
)


def configure_gdal(settings: Settings) -> None:
    """GDAL settings for serving COGs: bounded block cache, no sidecar listing, no PROJ network."""
    os.environ.setdefault("GDAL_CACHEMAX", str(settings.gdal_cachemax_mb))
    os.environ.setdefault("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR")
    os.environ.setdefault("PROJ_NETWORK", "OFF")


async def product_path(
    product_id: Annotated[int, PathParam(description="map product id")], request: Request
) -> str:
    """The COG titiler reads for this request; 401 without a logged-in active user, 404
    for an unknown id.

    Tiles and tilejson read the product's Web-Mercator display copy (no warp per tile);
    point and info read the native COG (its own pixels, CRS and values). Products made
    before display copies existed have only the native file. One async dependency making
    one trip to the thread pool: a map view asks for dozens of tiles at once, and on one
    worker the event loop's work per dependency (a database session, the user, the path:
    five thread-pool hops) was most of what the app added to bare titiler (bench/README.md,
    Maps).
    """
    uid = request.session.get("uid")
    if uid is None:
        raise HTTPException(401, LOG_IN_FIRST)
    known: dict[int, tuple[str, str]] = request.app.state.product_paths
    native, display = await run_in_threadpool(_product_files, known, uid, product_id)
    return display if _reads_tiles(request.url.path) else native


def _product_files(known: dict[int, tuple[str, str]], uid: int, product_id: int) -> tuple[str, str]:
    """(native, display) paths of a product, checking the session's user is still active.

    Products are immutable, so their paths are looked up once per app (``known``).
    """
    with get_sessionmaker()() as session:
        if session_user(session, uid) is None:
            raise HTTPException(401, LOG_IN_FIRST)
        if product_id not in known:
            product = session.get(MapProduct, product_id)
            if product is None:
                raise NotFound(f"No map product with id {product_id}.")
            settings = get_settings()
            native = str(settings.path(product.file))
            display = product.meta.get("display_file")
            known[product_id] = (native, str(settings.path(display)) if display else native)
    return known[product_id]


def _reads_tiles(url_path: str) -> bool:
    """Whether the request draws the map (tiles, tilejson) rather than reads its values."""
    return "/tiles/" in url_path or url_path.endswith("/tilejson.json")


class TileCache:
    """A thread-safe LRU of rendered tile bytes, bounded in number of tiles."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._items: OrderedDict[str, tuple[bytes, str, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bytes, str, str] | None:
        """(body, media type, etag) or None."""
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: str, body: bytes, media_type: str) -> str:
        """Store a tile; returns its ETag."""
        etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        with self._lock:
            self._items[key] = (body, media_type, etag)
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return etag


def _cached(body: bytes, media_type: str, etag: str, request: Request) -> Response:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def cached_route(cache: TileCache) -> type[APIRoute]:
    """A route class whose tile routes answer from `cache` (logged-in users only) before
    any reader opens; each app gets its own cache."""

    class CachedTileRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Any]:
            handler = super().get_route_handler()
            if "/tiles/" not in self.path:
                return handler

            async def cached_handler(request: Request) -> Response:
                key = f"{request.url.path}?{sorted(request.query_params.multi_items())}"
                hit = cache.get(key)
                if hit is not None and request.session.get("uid") is not None:
                    return _cached(*hit, request)
                response = await handler(request)
                if response.status_code != 200:
                    return response
                body, media_type = bytes(response.body), response.media_type or "image/png"
                return _cached(body, media_type, cache.put(key, body, media_type), request)

            return cached_handler

    return CachedTileRoute


BLANK_PNG = render(
    np.zeros((1, 256, 256), dtype=np.uint8),
    mask=np.zeros((256, 256), dtype=np.uint8),
    img_format="PNG",
)


def install_tiles(app: FastAPI, settings: Settings) -> None:
    """Mount the product tiler and its error handlers on `app`."""
    configure_gdal(settings)
    app.state.tile_cache = TileCache(settings.tile_cache_items)
    app.state.product_paths = {}
    tiler = TilerFactory(
        router=APIRouter(route_class=cached_route(app.state.tile_cache)),
        path_dependency=product_path,
        router_prefix=PREFIX,
        add_viewer=False,
        add_preview=False,
        add_part=False,
        environment_dependency=lambda: {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR"},
    )
    app.include_router(tiler.router, prefix=PREFIX, tags=["tiles"])

    async def _outside_tile(_request: Request, _exc: Exception) -> Response:
        # Leaflet asks for every tile of the view; outside the product there is nothing to draw.
        return Response(BLANK_PNG, media_type="image/png", headers={"Cache-Control": CACHE_CONTROL})

    async def _outside_point(_request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": "The point lies outside the map product."}, status_code=404)

    async def _bad_request(_request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    app.add_exception_handler(TileOutsideBounds, _outside_tile)
    app.add_exception_handler(PointOutsideBounds, _outside_point)
    for error in BAD_REQUEST:
        app.add_exception_handler(error, _bad_request)
