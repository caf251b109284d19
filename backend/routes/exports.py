"""Exports for reviewers and admins: write a zip of the database at one moment, download it."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse

from backend.deps import ReviewerUser, SettingsDep, check_csrf
from backend.errors import NotFound
from backend.schemas.campaigns import ExportIn, ExportOut
from backend.services.export import EXPORT_DIR, export

router = APIRouter(prefix="/api/v1/exports", tags=["exports"])
NAME = re.compile(r"^[0-9A-Za-z_]+\.zip$")


def _out(name: str, size: int) -> ExportOut:
    return ExportOut(name=name, size=size, url=f"/api/v1/exports/{name}")


@router.post("", status_code=201, dependencies=[Depends(check_csrf)])
def post_export(body: ExportIn, _: ReviewerUser) -> ExportOut:
    """Export decisions and patch status (CSV, GeoPackage) and validated labels (GeoTIFF)."""
    path = export(dataset=body.dataset, formats=body.formats)
    return _out(path.name, path.stat().st_size)


@router.get("")
def list_exports(settings: SettingsDep, _: ReviewerUser) -> list[ExportOut]:
    """The export zips written so far, newest first."""
    folder = settings.path(EXPORT_DIR)
    zips = sorted(folder.glob("*.zip"), reverse=True) if folder.exists() else []
    return [_out(p.name, p.stat().st_size) for p in zips]


@router.get("/{name}", response_class=FileResponse)
def download(name: str, settings: SettingsDep, _: ReviewerUser) -> FileResponse:
    """Download one export zip by name."""
    path = settings.path(EXPORT_DIR) / name
    if not NAME.match(name) or not path.is_file():
        raise NotFound(f"No export named {name!r}.")
    return FileResponse(path, media_type="application/zip", filename=name)
