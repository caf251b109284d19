"""Tile latency through sitslab vs bare titiler (p50 / p95, ms).

Builds a 2,048² class map (palette COG) and a 3-band int16 composite COG in UTM,
registers them as map products in a fresh sitslab data directory (which writes their
Web-Mercator display copies), and serves them two ways, each in its own single-worker
uvicorn process: the sitslab app (login, product-id lookup, tile cache, ETag; tiles from
the display copy) and a plain titiler ``TilerFactory`` app reading files by path, once
the native UTM COG (warped per tile, as the app did before display copies) and once the
display copy. The tiles are those of the products' max zoom (the display copy's finest,
where no 10 m pixel is skipped), each fetched at concurrency 1 and 8, cold (a fresh cache
key: the app renders) and warm (the same URLs again: the app answers from its tile cache;
bare titiler re-renders with GDAL's block cache warm).

    .venv/bin/python bench/bench_tiles.py [--side 2048] [--tiles 64]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import morecantile
import numpy as np
import rasterio
from rasterio.transform import from_origin

ENV = {"GDAL_CACHEMAX": "256", "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "PROJ_NETWORK": "OFF",
       "MALLOC_ARENA_MAX": "2"}  # fmt: skip
TMS = morecantile.tms.get("WebMercatorQuad")


def make_cogs(folder: Path, side: int) -> tuple[Path, Path]:
    """A blocky class map with a palette and a smooth 3-band composite, as COGs."""
    from ml.cog import hex_colormap, to_cog

    rng = np.random.default_rng(0)
    transform = from_origin(360_000, 4_830_000, 10, 10)
    common = dict(driver="GTiff", width=side, height=side, crs="EPSG:32631", transform=transform,
                  tiled=True, blockxsize=512, blockysize=512, compress="deflate")  # fmt: skip
    coarse = rng.integers(1, 24, size=(side // 16 + 1, side // 16 + 1), dtype=np.uint8)
    classes = np.kron(coarse, np.ones((16, 16), np.uint8))[:side, :side]
    with rasterio.open(
        folder / "classes.work.tif", "w", count=1, dtype="uint8", nodata=255, **common
    ) as dst:
        dst.write(classes, 1)
    colours = {c: f"#{rng.integers(0, 2**24):06x}" for c in range(1, 24)}
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    bands = [
        (1500 + 1000 * np.sin(xx / (40 + 10 * b)) * np.cos(yy / 55)).astype(np.int16)
        for b in range(3)
    ]
    with rasterio.open(
        folder / "rgb.work.tif", "w", count=3, dtype="int16", nodata=-10000, **common
    ) as dst:
        dst.write(np.stack(bands))
    palette = hex_colormap(colours, nodata=255)
    maps = folder / "maps"
    classes_cog = to_cog(
        folder / "classes.work.tif", maps / "classes.tif", categorical=True, colormap=palette
    )
    rgb_cog = to_cog(folder / "rgb.work.tif", maps / "composite.tif", categorical=False)
    return classes_cog, rgb_cog


def register(data_dir: Path, classes: Path, rgb: Path) -> tuple[dict, dict]:
    """Migrate a fresh database, add an admin and the two products; returns their metas
    (with ids)."""
    os.environ["SITSLAB_DATA_DIR"] = str(data_dir)
    from backend.config import get_settings
    from backend.db import get_sessionmaker
    from backend.models import MapKind
    from backend.services import migrations
    from backend.services.map_products import register_product
    from backend.services.nomenclatures import seed_builtins
    from backend.services.users import create_user

    migrations.upgrade(get_settings().resolved_database_url)
    with get_sessionmaker()() as session:
        seed_builtins(session=session)
        create_user(session=session, username="bench", role="admin", password="bench-password-1")
        a = register_product(session=session, kind=MapKind.classes, name="classes", path=classes)
        b = register_product(session=session, kind=MapKind.composite, name="rgb", path=rgb)
        session.commit()
        return {"id": a.id, **a.meta}, {"id": b.id, **b.meta}


def time_display_copies(folder: Path, classes: Path, rgb: Path) -> None:
    """Print what writing each display copy costs (registration writes them once)."""
    from ml.cog import web_mercator_copy

    for cog, categorical in ((classes, True), (rgb, False)):
        start = time.perf_counter()
        copy = web_mercator_copy(cog, folder / f"timing-{cog.name}", categorical=categorical)
        seconds = time.perf_counter() - start
        with rasterio.open(cog) as native, rasterio.open(copy) as web:
            print(f"display copy of {cog.name}: {seconds:.2f} s, {native.width}² UTM -> "
                  f"{web.width}x{web.height} Web Mercator, {cog.stat().st_size / 1e6:.1f} -> "
                  f"{copy.stat().st_size / 1e6:.1f} MB")  # fmt: skip
        copy.unlink()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    """Start a uvicorn process and wait until it answers."""
    cmd = [sys.executable, "-m", "uvicorn", *args, "--port", str(port), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env={**os.environ, **ENV, **env})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/docs", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server {' '.join(args)} did not start")


def bare_app():  # noqa: ANN201 - uvicorn factory for the bare titiler process
    """A plain titiler app: TilerFactory over any local path (the reference)."""
    from fastapi import FastAPI
    from titiler.core.errors import DEFAULT_STATUS_CODES, add_exception_handlers
    from titiler.core.factory import TilerFactory

    app = FastAPI()
    app.include_router(TilerFactory(router_prefix="/cog").router, prefix="/cog")
    add_exception_handlers(app, DEFAULT_STATUS_CODES)
    return app


def fetch(urls: list[str], concurrency: int, cookies: dict | None) -> list[float]:
    """Latency (ms) of every URL, `concurrency` requests in flight."""
    clients = [httpx.Client(cookies=cookies, timeout=30) for _ in range(concurrency)]

    def one(item: tuple[int, str]) -> float:
        i, url = item
        start = time.perf_counter()
        response = clients[i % concurrency].get(url)
        response.raise_for_status()
        return (time.perf_counter() - start) * 1000

    with ThreadPoolExecutor(concurrency) as pool:
        out = list(pool.map(one, enumerate(urls)))
    for c in clients:
        c.close()
    return out


def tiles_over(meta: dict, limit: int) -> list[morecantile.Tile]:
    """Tiles of the map's max zoom, nearest the centre first, at most `limit`."""
    west, south, east, north = meta["bounds"]
    zoom = meta["maxzoom"]
    inner = (west + 0.01 * (east - west), south + 0.01 * (north - south))
    tiles = list(TMS.tiles(*inner, east - (inner[0] - west), north - (inner[1] - south), [zoom]))
    cx, cy = TMS.tile((west + east) / 2, (south + north) / 2, zoom)[:2]
    tiles.sort(key=lambda t: (t.x - cx) ** 2 + (t.y - cy) ** 2)
    return tiles[:limit]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--tiles", type=int, default=64)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        classes, rgb = make_cogs(data, args.side)
        class_meta, rgb_meta = register(data, classes, rgb)
        time_display_copies(data, classes, rgb)
        tiles = tiles_over(class_meta, args.tiles)
        for cog in data.glob("maps/*.tif"):
            cog.read_bytes()  # the OS page cache holds the files: "cold" means not rendered yet
        app_port, bare_port = free_port(), free_port()
        env = {"SITSLAB_DATA_DIR": str(data), "SITSLAB_EMBEDDED_WORKER": "false"}
        app = serve(["--factory", "backend.app:create_app"], env, app_port)
        bare = serve(
            ["--factory", "bench.bench_tiles:bare_app"], {"PYTHONPATH": str(Path.cwd())}, bare_port
        )
        try:
            login = httpx.post(
                f"http://127.0.0.1:{app_port}/api/v1/auth/login",
                json={"username": "bench", "password": "bench-password-1"},
            )
            cookies = dict(login.cookies)
            products = {
                "classes": (class_meta, classes, ""),
                "composite": (rgb_meta, rgb, "rescale=0,3000"),
            }
            print(f"{len(tiles)} tiles at z{tiles[0].z}, {args.side}² px COGs in UTM")
            header = (
                f"{'product':10} {'cache':5} {'conc':>4} | {'app p50':>8} {'app p95':>8} | "
                f"{'UTM p50':>8} {'UTM p95':>8} | {'web p50':>8} {'web p95':>8}"
            )
            print(header)
            print("-" * len(header))
            for name, (meta, native, query) in products.items():
                pid, display = meta["id"], data / meta["display_file"]
                app_base = f"http://127.0.0.1:{app_port}/api/v1/maps/{pid}/tiles/WebMercatorQuad"
                bare_base = f"http://127.0.0.1:{bare_port}/cog/tiles/WebMercatorQuad"
                bare_queries = [f"url={path}&{query}" for path in (native, display)]
                # process warm-up (imports, first GDAL open) outside the figures
                fetch(tile_urls(app_base, tiles[-1:], f"{query}&run=warm-up"), 1, cookies)
                for bare_query in bare_queries:
                    fetch(tile_urls(bare_base, tiles[-1:], f"{bare_query}&run=warm-up"), 1, None)
                for conc in (1, 8):
                    run = f"run={uuid.uuid4().hex[:8]}"  # a fresh cache key: nothing rendered yet
                    app_urls = tile_urls(app_base, tiles, f"{query}&{run}")
                    bare_urls = [tile_urls(bare_base, tiles, f"{q}&{run}") for q in bare_queries]
                    for cache in ("cold", "warm"):
                        figures = [_pct(fetch(app_urls, conc, cookies))]
                        figures += [_pct(fetch(urls, conc, None)) for urls in bare_urls]
                        cells = " | ".join(f"{p50:>8.1f} {p95:>8.1f}" for p50, p95 in figures)
                        print(f"{name:10} {cache:5} {conc:>4} | {cells}")
        finally:
            for proc in (app, bare):
                proc.terminate()
                proc.wait(timeout=10)


def tile_urls(base: str, tiles: list[morecantile.Tile], query: str) -> list[str]:
    return [f"{base}/{t.z}/{t.x}/{t.y}.png?{query}" for t in tiles]


def _pct(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=20)
    return statistics.median(values), q[18]


if __name__ == "__main__":
    main()
