"""Patches as the review page sees them: detail, label revisions, history, pixel series."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class LegendClass(BaseModel):
    """One class of the patch's nomenclature, for the legend and the correction palette."""

    code: int
    name: str
    colour: str
    ignore: bool


class RevisionOut(BaseModel):
    """One label revision; `id` goes into the immutable label image URLs."""

    id: int
    version: int
    parent_id: int | None
    author: str | None
    source: str
    note: str
    created_at: datetime


class PatchDetail(BaseModel):
    """Everything the review page needs to draw a patch (URL templates in `urls`)."""

    id: int
    external_id: str
    dataset_id: int
    dataset: str
    tile: str | None
    split: str
    block: str | None
    status: str
    suspicion: float | None
    height: int
    width: int
    dates: list[str]
    bands: list[str]
    cloud_fraction: list[float]
    default_date: int
    revision: RevisionOut | None
    has_reference: bool
    nomenclature: str
    legend: list[LegendClass]
    urls: dict[str, str]


class DecisionOut(BaseModel):
    """One decision as the history shows it; `undone` when a later undo retracted it."""

    id: int
    patch_id: int
    kind: str
    user: str
    campaign_id: int | None
    label_revision_id: int | None
    new_revision_id: int | None
    undoes_id: int | None
    undone: bool
    comment: str
    confidence: int | None
    time_spent_ms: int | None
    view: str | None
    date_shown: str | None
    created_at: datetime


class PatchHistory(BaseModel):
    """A patch's full record: every decision and every label revision, oldest first."""

    patch_id: int
    status: str
    decisions: list[DecisionOut]
    revisions: list[RevisionOut]


class PixelSeries(BaseModel):
    """One pixel's time series (reflectance x 10000, None = nodata) and its labels."""

    row: int
    col: int
    dates: list[str]
    bands: dict[str, list[int | None]]
    ndvi: list[float | None]
    cloud: list[int]
    label: int
    label_name: str | None
    reference: int | None
