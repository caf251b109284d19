"""Datasets: list, show, list patches, and the admins' upload-and-ingest."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, UploadFile
from sqlalchemy import select

from backend.deps import AdminUser, CurrentUser, SessionDep, check_csrf
from backend.errors import Invalid, NotFound
from backend.models import Dataset, Patch
from backend.schemas.datasets import DatasetOut, PatchSummary
from backend.services.datasets import dataset_out, patch_summary
from backend.services.ingest import ingest

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])


def _dataset(session: SessionDep, dataset_id: int) -> Dataset:
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"No dataset with id {dataset_id}.")
    return dataset


@router.get("")
def list_datasets(session: SessionDep, _: CurrentUser) -> list[DatasetOut]:
    """Every dataset with its patch counts."""
    return [dataset_out(session=session, dataset=d) for d in session.scalars(select(Dataset))]


@router.get("/{dataset_id}")
def get_dataset(dataset_id: int, session: SessionDep, _: CurrentUser) -> DatasetOut:
    """One dataset with its patch counts."""
    return dataset_out(session=session, dataset=_dataset(session, dataset_id))


@router.get("/{dataset_id}/patches")
def list_patches(
    dataset_id: int,
    session: SessionDep,
    _: CurrentUser,
    status: str | None = None,
    split: Literal["train", "val", "test"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[PatchSummary]:
    """Patches of a dataset, most suspicious first, filtered by status and split."""
    _dataset(session, dataset_id)
    query = select(Patch).where(Patch.dataset_id == dataset_id)
    if status:
        query = query.where(Patch.status == status)
    if split:
        query = query.where(Patch.split == split)
    query = (
        query.order_by(Patch.suspicion.desc().nulls_last(), Patch.id).limit(limit).offset(offset)
    )
    return [patch_summary(p) for p in session.scalars(query)]


@router.post("/ingest", status_code=201, dependencies=[Depends(check_csrf)])
def upload_and_ingest(
    file: UploadFile,
    session: SessionDep,
    _: AdminUser,
    format: Annotated[Literal["pastis", "geotiff"] | None, Form()] = None,
    strict: Annotated[bool, Form()] = False,
    name: Annotated[str | None, Form()] = None,
) -> dict:
    """Ingest a dataset sent as a .zip of one of the two layouts (docs/data-format.md)."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "upload.zip"
        archive.write_bytes(file.file.read())
        if not zipfile.is_zipfile(archive):
            raise Invalid("Send the dataset as a .zip archive of its folder.")
        root = Path(tmp) / "dataset"
        with zipfile.ZipFile(archive) as zf:
            if any(Path(n).is_absolute() or ".." in Path(n).parts for n in zf.namelist()):
                raise Invalid("The archive holds paths outside its folder.")
            zf.extractall(root)
        entries = list(root.iterdir())
        if len(entries) == 1 and entries[0].is_dir():
            root = entries[0]
        report = ingest(session=session, path=root, format=format, strict=strict, name=name)
    return report.as_dict()
