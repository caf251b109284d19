"""Datasets and patch summaries as the API shows them."""

from __future__ import annotations

from pydantic import BaseModel


class DatasetOut(BaseModel):
    """A dataset with its patch counts per validation status and per split."""

    id: int
    name: str
    format: str
    nomenclature_id: int
    bands: list[str]
    n_patches: int
    by_status: dict[str, int]
    by_split: dict[str, int]


class PatchSummary(BaseModel):
    """A patch row in listings."""

    id: int
    external_id: str
    tile: str | None
    split: str
    status: str
    suspicion: float | None
    height: int
    width: int
    n_dates: int
