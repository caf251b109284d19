"""`sitslab export`: decisions, patch status and validated labels in one consistent zip."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from backend.errors import DomainError
from backend.services.export import FORMATS
from backend.services.export import export as export_zip

console = Console()


def export(
    dataset: str | None = typer.Option(None, "--dataset", help="Only this dataset (default: all)."),
    out: Path | None = typer.Option(
        None, "--out", help="Zip to write (default: data/exports/<time>.zip)."
    ),
    format: str = typer.Option(
        ",".join(FORMATS), "--format", help="Comma-separated: csv, gpkg, labels."
    ),
) -> None:
    """Export decisions and patch status (CSV, GeoPackage) and validated labels (GeoTIFF layout)."""
    formats = [f.strip() for f in format.split(",") if f.strip()]
    try:
        path = export_zip(dataset=dataset, formats=formats, out=out)
    except DomainError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"Wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")


def register(app: typer.Typer) -> None:
    """Add the command to the main app."""
    app.command()(export)
