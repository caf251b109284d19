"""Nomenclatures: list them, show one (the legend pages and maps use it), load a new one."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, UploadFile
from sqlalchemy import select

from backend.deps import AdminUser, SessionDep, check_csrf
from backend.errors import Invalid, NotFound
from backend.models import Nomenclature
from backend.schemas.nomenclatures import NomenclatureOut
from backend.services.nomenclatures import nomenclature_out, save_nomenclature
from ml.nomenclature import load

router = APIRouter(prefix="/api/v1/nomenclatures", tags=["nomenclatures"])


@router.get("")
def list_nomenclatures(session: SessionDep) -> list[NomenclatureOut]:
    """Every nomenclature with its classes."""
    rows = session.scalars(select(Nomenclature).order_by(Nomenclature.id))
    return [nomenclature_out(n) for n in rows]


@router.get("/{nomenclature_id}")
def get_nomenclature(nomenclature_id: int, session: SessionDep) -> NomenclatureOut:
    """One nomenclature: codes, names, colours, ignore flags, groups."""
    row = session.get(Nomenclature, nomenclature_id)
    if row is None:
        raise NotFound(f"No nomenclature with id {nomenclature_id}.")
    return nomenclature_out(row)


@router.post("", status_code=201, dependencies=[Depends(check_csrf)])
def upload_nomenclature(file: UploadFile, session: SessionDep, _: AdminUser) -> NomenclatureOut:
    """Load a nomenclature from a JSON or CSV file (see docs/data-format.md)."""
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in {".json", ".csv"}:
        raise Invalid("Send a .json or .csv nomenclature file.")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(file.file.read())
        try:
            parsed = load(path)
        except ValueError as exc:
            raise Invalid(f"This nomenclature file is not valid: {exc}") from exc
    return nomenclature_out(save_nomenclature(session=session, nomenclature=parsed))
