"""Review-queue latency and bytes per patch.

Server-side latency of GET /api/v1/review/next and POST /api/v1/decisions (p50 / p95 over
N requests, through the full ASGI stack: session cookie, CSRF, routing, database) with
10,000 patches in one annotator's queue, on SQLite and on PostgreSQL; then the bytes a
browser loads to show one patch of the demo size (64 px, 24 dates).

    .venv/bin/python bench/bench_review.py [--patches 10000] [--requests 1000]
        [--no-postgres] [--no-browser]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PG_ADMIN = os.environ.get(
    "SITSLAB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "bench-password-1"


def use_database(data_dir: Path, url: str) -> None:
    """Point settings at a fresh, migrated database with the built-in nomenclatures."""
    from backend import db
    from backend.config import get_settings
    from backend.services import migrations
    from backend.services.nomenclatures import seed_builtins

    os.environ.update(
        SITSLAB_DATA_DIR=str(data_dir),
        SITSLAB_DATABASE_URL=url,
        SITSLAB_ENV="test",
        SITSLAB_EMBEDDED_WORKER="false",
    )
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()
    migrations.upgrade(url)
    with db.get_sessionmaker()() as session:
        seed_builtins(session=session)


def bulk_queue(n_patches: int) -> None:
    """One dataset of `n_patches` rows (no files: these calls never read them), one queue."""
    from backend import db
    from backend.models import Assignment, Campaign, Dataset, LabelRevision, Nomenclature, Patch
    from backend.services.users import create_user

    with db.get_sessionmaker()() as session:
        user = create_user(session=session, username="bench", role="annotator", password=PASSWORD)
        nom = session.scalar(sa.select(Nomenclature.id).where(Nomenclature.name == "oso-2018"))
        dataset = Dataset(name="bench", nomenclature_id=nom, format="geotiff", bands=["B2"])
        session.add(dataset)
        session.flush()
        session.execute(
            sa.insert(Patch),
            [
                dict(
                    dataset_id=dataset.id,
                    external_id=f"p{i:05d}",
                    footprint={},
                    crs="EPSG:32631",
                    bounds=[0, 0, 1, 1],
                    height=64,
                    width=64,
                    dates=["2024-01-01"],
                    bands=["B2"],
                    store_dir=f"patches/{i}",
                    status="unreviewed",
                    split="train",
                )
                for i in range(n_patches)
            ],
        )
        ids = list(session.scalars(sa.select(Patch.id).order_by(Patch.id)))
        session.execute(
            sa.insert(LabelRevision),
            [
                dict(patch_id=p, version=1, source="ingest", file=f"labels/{p}/1.tif", note="")
                for p in ids
            ],
        )
        campaign = Campaign(name="bench", dataset_id=dataset.id, filter={})
        session.add(campaign)
        session.flush()
        session.execute(
            sa.insert(Assignment),
            [
                dict(campaign_id=campaign.id, patch_id=p, user_id=user.id, position=i)
                for i, p in enumerate(ids)
            ],
        )
        session.commit()


class ServerTimer:
    """ASGI wrapper timing the app itself (server side: the test client's overhead excluded)."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app
        self.last_ms = 0.0
        self.last_cpu_ms = 0.0

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001
        start, cpu = time.perf_counter(), time.process_time()
        await self.app(scope, receive, send)
        self.last_ms = (time.perf_counter() - start) * 1000
        # CPU time of the process while the client waits: the request's own work, which
        # unlike wall time does not grow when other programs load the machine.
        self.last_cpu_ms = (time.process_time() - cpu) * 1000


def time_queue(n_requests: int) -> dict[str, list[float]]:
    """Alternate "next patch" and "accept it", timing each call in milliseconds."""
    from fastapi.testclient import TestClient

    from backend.app import create_app

    calls = ("GET /api/v1/review/next", "POST /api/v1/decisions")
    times: dict[str, list[float]] = {f"{c} {k}": [] for c in calls for k in ("wall", "cpu")}
    timer = ServerTimer(create_app())
    with TestClient(timer) as client:
        token = client.post("/api/v1/auth/login", json={"username": "bench", "password": PASSWORD})
        client.headers["X-CSRF-Token"] = token.json()["csrf_token"]
        for _ in range(20):  # warm-up: connection pool, caches
            client.get("/api/v1/review/next")
        for _ in range(n_requests):
            current = client.get("/api/v1/review/next").json()["current"]
            times[f"{calls[0]} wall"].append(timer.last_ms)
            times[f"{calls[0]} cpu"].append(timer.last_cpu_ms)
            response = client.post(
                "/api/v1/decisions",
                json={"patch_id": current["patch_id"], "kind": "accept", "time_spent_ms": 900},
            )
            assert response.status_code == 201, response.text
            times[f"{calls[1]} wall"].append(timer.last_ms)
            times[f"{calls[1]} cpu"].append(timer.last_cpu_ms)
    return times


def demo_queue(tmp: Path, n_patches: int = 8) -> list[int]:
    """Demo-size synthetic patches (64 px, 24 dates), ingested, all in "viewer"'s queue."""
    from backend import db
    from backend.models import Patch
    from backend.services.campaigns import create_campaign
    from backend.services.ingest import ingest
    from backend.services.users import create_user
    from ml.data import synthetic

    synthetic.generate(tmp / "src", n_patches=n_patches, patch_size=64, n_dates=24, seed=7)
    with db.get_sessionmaker()() as session:
        report = ingest(session=session, path=tmp / "src", format="geotiff")
        user = create_user(session=session, username="viewer", role="annotator", password=PASSWORD)
        create_campaign(
            session=session,
            name="demo",
            dataset_id=report.dataset_id,
            overlap=1,
            user_ids=[user.id],
            order="id",
        )
        return list(session.scalars(sa.select(Patch.id).order_by(Patch.id)))


def bytes_per_patch(patch_id: int) -> list[tuple[str, int]]:
    """Bytes of each response the page loads for one patch, and of a date change."""
    from fastapi.testclient import TestClient

    from backend.app import create_app

    rows = []
    with TestClient(create_app()) as client:
        client.post("/api/v1/auth/login", json={"username": "viewer", "password": PASSWORD})
        detail_response = client.get(f"/api/v1/patches/{patch_id}")
        detail = detail_response.json()
        rows.append(("patch detail JSON", len(detail_response.content)))
        t = detail["default_date"]
        urls = {
            "image (true colour, 1 date, PNG)": detail["urls"]["image"].format(date=t, view="true"),
            "cloud mask (1 date, PNG)": detail["urls"]["clouds"].format(date=t),
            "label overlay (PNG)": detail["urls"]["label"],
            "date strip (24 thumbnails, WebP)": detail["urls"]["strip"].format(view="true")
            + "?size=48",
            "history JSON": detail["urls"]["history"],
        }
        for name, url in urls.items():
            rows.append((name, len(client.get(url).content)))
        rows.append(("total per patch shown", sum(n for _, n in rows)))
        extra = client.get(detail["urls"]["image"].format(date=(t + 1) % 24, view="false")).content
        clouds = client.get(detail["urls"]["clouds"].format(date=(t + 1) % 24)).content
        rows.append(("each further date or view (image + clouds)", len(extra) + len(clouds)))
        raw = client.get(detail["urls"]["label_raw"]).content
        rows.append(("label raw (correction mode)", len(raw)))
    return rows


def browser_timings(patch_ids: list[int], n_moves: int = 5) -> list[tuple[str, float]]:
    """Headless chromium on a live server: page ready, next patch shown, bytes per patch."""
    import socket
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright

    from backend.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    shown = "() => document.getElementById('img-base').complete"
    rows: list[tuple[str, float]] = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path="/usr/bin/chromium",
                headless=True,
                args=["--no-sandbox", "--disable-gpu"],
            )
            page = browser.new_page(base_url=base)
            page.goto("/login")
            page.fill("input[name=username]", "viewer")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/login" not in url)
            page.goto("/review")
            page.wait_for_selector("#review[data-ready=true]")
            page.wait_for_function(shown)
            first_image = page.evaluate(
                """() => Math.max(...performance.getEntriesByType('resource')
                  .filter(e => e.name === document.getElementById('img-base').src)
                  .map(e => e.responseEnd))"""
            )
            rows.append(("review page: navigation start to first image loaded (ms)", first_image))
            transfer = page.evaluate(
                """id => performance.getEntriesByType('resource')
                  .filter(e => e.name.includes(`/api/v1/patches/${id}/`)
                    || e.name.endsWith(`/patches/${id}`))
                  .reduce((s, e) => s + e.transferSize, 0)""",
                patch_ids[0],
            )
            rows.append(("bytes transferred for the first patch (resource timing)", transfer))
            # Timed inside the page: from the key event to the next patch's image "load".
            page.evaluate(
                """() => {
                  document.addEventListener('keydown',
                    () => { window.benchStart = performance.now(); }, true);
                  document.getElementById('img-base').addEventListener('load',
                    () => { window.benchShown = performance.now(); });
                }"""
            )
            moves = []
            for i in range(1, n_moves + 1):
                page.wait_for_timeout(300)  # let the prefetch of the next patches finish
                page.keyboard.press("a")
                page.wait_for_function(
                    "id => document.getElementById('review').dataset.currentPatch === String(id)"
                    " && window.benchShown > window.benchStart",
                    arg=patch_ids[i],
                )
                moves.append(page.evaluate("window.benchShown - window.benchStart"))
            rows.append(
                ("accept key to next patch's image shown, median (ms)", statistics.median(moves))
            )
            rows.append(("accept key to next patch's image shown, max (ms)", max(moves)))
            browser.close()
    finally:
        server.should_exit = True
    return rows


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    """Run the benchmark and print its tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patches", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=1_000)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    backends = ["sqlite"] + ([] if args.no_postgres else ["postgresql"])
    print(
        f"Review queue latency, {args.patches} patches in the queue, {args.requests} requests each"
    )
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at start)")
    print(f"{'database':<11} {'call':<31} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
    for backend in backends:
        with tempfile.TemporaryDirectory() as tmp:
            url, admin, name = f"sqlite:///{Path(tmp) / 'sitslab.db'}", None, None
            if backend == "postgresql":
                admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
                name = f"sitslab_bench_{uuid.uuid4().hex[:8]}"
                with admin.connect() as conn:
                    conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
                url = PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
            try:
                use_database(Path(tmp), url)
                bulk_queue(args.patches)
                for call, values in time_queue(args.requests).items():
                    print(
                        f"{backend:<11} {call:<31} {pct(values, 50):8.2f} {pct(values, 95):8.2f} "
                        f"{statistics.mean(values):8.2f}"
                    )
            finally:
                from backend import db

                db.get_engine().dispose()
                if admin is not None:
                    with admin.connect() as conn:
                        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    admin.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        use_database(Path(tmp) / "data", f"sqlite:///{Path(tmp) / 'view.db'}")
        patch_ids = demo_queue(Path(tmp))
        print("\nBytes the browser loads per patch (64 x 64 px, 24 dates)")
        for name, size in bytes_per_patch(patch_ids[0]):
            print(f"{name:<45} {size:>9,d}")
        if not args.no_browser:
            print("\nIn headless chromium (SQLite, demo-size patches)")
            for name, value in browser_timings(patch_ids):
                print(f"{name:<58} {value:>9,.0f}")


if __name__ == "__main__":
    main()
