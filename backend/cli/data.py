"""`sitslab synth` and `sitslab ingest`."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress

from backend.db import get_sessionmaker
from backend.errors import DomainError
from backend.services.ingest import ingest as ingest_dataset
from ml.data import synthetic
from ml.data.synthetic.clouds import MAX_MISSED_CLOUDS
from ml.data.synthetic.orbits import MAX_ORBITS
from ml.data.synthetic.regions import MAX_SHIFT_SD

console = Console()


class Layout(StrEnum):
    """On-disk dataset layouts (docs/data-format.md)."""

    pastis = "pastis"
    geotiff = "geotiff"


def synth(
    out: Path = typer.Argument(..., help="Folder to write the GeoTIFF layout into."),
    patches: int = typer.Option(100, "--patches", min=1, help="Number of patches."),
    patch_size: int = typer.Option(64, min=16, max=1024, help="Patch side in pixels."),
    dates: int = typer.Option(30, min=2, max=351, help="Acquisition dates over the year."),
    seed: int = typer.Option(0, help="Same seed, same bytes."),
    noise: float = typer.Option(0.05, min=0.0, max=0.5, help="Share of parcels mislabelled."),
    clouds: float = typer.Option(0.2, min=0.0, max=0.9, help="Share of cloudy pixel-dates."),
    missed_clouds: float = typer.Option(
        0.0,
        min=0.0,
        max=MAX_MISSED_CLOUDS,
        help="Share of cloud contamination the masks miss (thin clouds, shadows).",
    ),
    urban_mosaic: bool = typer.Option(
        False,
        "--urban-mosaic",
        help="Towns as mosaics of roofs, streets, lawns and trees (classes told by layout).",
    ),
    orbits: int = typer.Option(
        1,
        min=1,
        max=MAX_ORBITS,
        help="Relative orbits acquiring the scene, each on its own calendar of DATES dates.",
    ),
    phenology_shift: float = typer.Option(
        0.0,
        min=0.0,
        max=MAX_SHIFT_SD,
        help="Days (standard deviation) by which seasons shift from one region of the scene "
        "to another.",
    ),
    stale_register: float = typer.Option(
        0.0,
        min=0.0,
        max=1.0,
        help="Share of the scene, one region, whose crop labels are last year's crops "
        "(an out-of-date parcel register).",
    ),
) -> None:
    """Generate the synthetic OSO benchmark (a scene near Toulouse cut into patches)."""
    with Progress(console=console) as bar:
        task = bar.add_task("Generating", total=patches)
        summary = synthetic.generate(
            out,
            n_patches=patches,
            patch_size=patch_size,
            n_dates=dates,
            seed=seed,
            noise_rate=noise,
            cloud_fraction=clouds,
            missed_clouds=missed_clouds,
            urban_mosaic=urban_mosaic,
            orbits=orbits,
            phenology_shift=phenology_shift,
            stale_register=stale_register,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(summary)


def ingest(
    path: Path = typer.Argument(..., exists=True, help="Dataset folder."),
    format: Layout | None = typer.Option(None, "--format", help="Layout; guessed when omitted."),
    strict: bool = typer.Option(False, "--strict", help="Refuse everything if one patch is bad."),
    name: str | None = typer.Option(None, help="Dataset name (default: from the manifest)."),
) -> None:
    """Validate a dataset and store its good patches (idempotent)."""
    with get_sessionmaker()() as session, Progress(console=console) as bar:
        task = bar.add_task("Ingesting", total=None)
        try:
            report = ingest_dataset(
                session=session,
                path=path,
                format=format.value if format else None,
                strict=strict,
                name=name,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except DomainError as exc:
            console.print(f"[red]{exc.message}[/red]")
            for problem in exc.detail.get("problems", []):
                console.print(f"  {problem['patch_id']}: {problem['reason']}")
            raise typer.Exit(2) from exc
    console.print(json.dumps(report.as_dict(), indent=2))


def register(app: typer.Typer) -> None:
    """Add these commands to the main app."""
    app.command()(synth)
    app.command()(ingest)
