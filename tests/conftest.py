"""Shared fixtures: a fresh data directory and database per test, users, clients, PostgreSQL.

Every test gets its own SITSLAB_DATA_DIR and SQLite database migrated with Alembic (the
only way the schema is made), so tests never share state and can run in parallel.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend import db
from backend.config import get_settings
from backend.models import User
from backend.services import migrations
from backend.services.nomenclatures import seed_builtins
from backend.services.users import create_user

PG_ADMIN_URL = os.environ.get(
    "SITSLAB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
PASSWORD = "correct-horse-battery"


def _clear_caches() -> None:
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    db.get_sessionmaker.cache_clear()


def _use_database(monkeypatch: pytest.MonkeyPatch, data_dir: Path, url: str) -> None:
    monkeypatch.setenv("SITSLAB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SITSLAB_DATABASE_URL", url)
    monkeypatch.setenv("SITSLAB_ENV", "test")
    monkeypatch.setenv("SITSLAB_EMBEDDED_WORKER", "false")
    _clear_caches()
    migrations.upgrade(url)
    with db.get_sessionmaker()() as session:
        seed_builtins(session=session)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data directory for this test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def database(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite database in the test's data directory; yields its URL."""
    url = f"sqlite:///{data_dir / 'sitslab.db'}"
    _use_database(monkeypatch, data_dir, url)
    yield url
    db.get_engine().dispose()
    _clear_caches()


def postgres_available() -> bool:
    """True when the local PostgreSQL server accepts connections."""
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (created here, dropped afterwards)."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432 (set SITSLAB_TEST_PG_URL)")
    name = f"sitslab_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(
    request: pytest.FixtureRequest, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The same test on SQLite and on PostgreSQL; yields the URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{data_dir / 'sitslab.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    _use_database(monkeypatch, data_dir, url)
    yield url
    db.get_engine().dispose()
    _clear_caches()


@pytest.fixture
def session(database: str) -> Iterator[Session]:
    """A session on the test database."""
    with db.get_sessionmaker()() as s:
        yield s


@pytest.fixture
def make_user(database: str):  # noqa: ANN201
    """Factory: make_user("name", "annotator") -> User (password is PASSWORD)."""

    def _make(username: str, role: str = "annotator") -> User:
        with db.get_sessionmaker()() as s:
            return create_user(session=s, username=username, role=role, password=PASSWORD)

    return _make


@pytest.fixture
def client(database: str) -> Iterator[TestClient]:
    """An HTTP client on a fresh app (not logged in)."""
    from backend.app import create_app

    with TestClient(create_app()) as c:
        yield c


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log the client in; returns the CSRF token and sets it as a default header."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token


@pytest.fixture
def admin_client(client: TestClient, make_user) -> TestClient:  # noqa: ANN001
    """A client logged in as an admin."""
    make_user("admin", "admin")
    login(client, "admin")
    return client


@pytest.fixture
def live_server(database: str) -> Iterator[str]:
    """The real app under uvicorn on a free local port; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    from backend.app import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():  # noqa: ANN201
    """Debian's headless chromium driven by Playwright (never a downloaded browser)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server: str):  # noqa: ANN001, ANN201
    """A fresh browser page (own cookies) with the live server as base URL."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def browser_login(page, username: str, password: str = PASSWORD) -> None:  # noqa: ANN001
    """Log in through the login form, as a person would."""
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture(scope="session")
def synthetic_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic dataset in the GeoTIFF layout, generated once per test session.

    Tests must not modify it: copy it first (`shutil.copytree`) to break it on purpose.
    """
    from ml.data import synthetic

    out = tmp_path_factory.mktemp("synthetic") / "tiny"
    synthetic.generate(out, n_patches=4, patch_size=32, n_dates=6, seed=3)
    return out


@pytest.fixture(scope="session")
def other_scene_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another scene of the same bands (other parcels, other calendar), three patches."""
    from ml.data import synthetic

    out = tmp_path_factory.mktemp("synthetic") / "other"
    synthetic.generate(out, n_patches=3, patch_size=32, n_dates=5, seed=4)
    return out


def _ingested(session: Session, source: Path, name: str):  # noqa: ANN202
    from backend.models import Dataset
    from backend.services.ingest import ingest

    report = ingest(session=session, path=source, format="geotiff", name=name)
    return session.get(Dataset, report.dataset_id)


@pytest.fixture
def ingested_dataset(session: Session, synthetic_source: Path):  # noqa: ANN201
    """The tiny synthetic dataset ingested into the test database; returns the Dataset row."""
    return _ingested(session, synthetic_source, "tiny")


@pytest.fixture
def other_scene(session: Session, other_scene_source: Path):  # noqa: ANN201
    """Another scene ingested as dataset "other" (unreviewed): a pre-training corpus."""
    return _ingested(session, other_scene_source, "other")
