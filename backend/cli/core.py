"""`sitslab init` and `sitslab serve`."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys

import typer
from rich.console import Console
from rich.progress import Progress

from backend.config import get_settings
from backend.db import get_sessionmaker
from backend.services import demo, map_products, migrations
from backend.services.nomenclatures import seed_builtins

console = Console()
PR_SET_PDEATHSIG = 1


def init(
    demo_data: bool = typer.Option(False, "--demo", help="Also create demo users and data."),
) -> None:
    """Create or upgrade the database (Alembic), load the built-in nomenclatures and write
    the display copies that older map products lack."""
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.resolved_database_url)
    with get_sessionmaker()() as session:
        seed_builtins(session=session)
        console.print(f"Database ready: {settings.resolved_database_url}")
        if copies := map_products.add_missing_display_copies(session=session):
            console.print(f"Web-Mercator display copies written for {copies} older map(s)")
        if not demo_data:
            return
        users = demo.ensure_demo_users(session=session)
        with Progress(console=console) as bar:
            task = bar.add_task("Demo dataset", total=None)
            message = demo.ensure_demo_dataset(
                session=session,
                n_patches=settings.demo_patches,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        console.print(f"Demo dataset: {message}")
    console.print("Demo logins (user / password / role):")
    for username, role, password in users:
        console.print(f"  {username:<11} {password:<20} {role}")


def _stop_with_parent() -> None:
    """In the embedded worker: get SIGTERM when the server dies (uvicorn re-raises the
    signal that stopped it, so the server's own clean-up may never run). Linux only."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def serve(
    host: str = typer.Option(None, help="Interface to listen on (default SITSLAB_HOST)."),
    port: int = typer.Option(None, help="Port (default SITSLAB_PORT)."),
) -> None:
    """Serve the web app (and, embedded, one worker process)."""
    import uvicorn

    from backend.app import create_app

    settings = get_settings()
    worker = None
    if settings.embedded_worker:
        # One worker beside the server (the embedded default); queued jobs are rows, so
        # restarting both loses nothing.
        worker = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "worker"], preexec_fn=_stop_with_parent
        )
    try:
        uvicorn.run(create_app(), host=host or settings.host, port=port or settings.port)
    finally:
        if worker is not None:
            worker.terminate()
            try:
                worker.wait(timeout=settings.cancel_grace_s)
            except subprocess.TimeoutExpired:
                worker.kill()


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.command()(init)
    app.command()(serve)
