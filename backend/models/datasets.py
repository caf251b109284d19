"""Datasets, their patches and the label revisions of each patch."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Base, created_column


class PatchStatus(StrEnum):
    """A patch's validation state, derived from its decisions (cached on the row)."""

    unreviewed = "unreviewed"
    accepted = "accepted"
    rejected = "rejected"
    uncertain = "uncertain"
    corrected = "corrected"
    disputed = "disputed"


class Dataset(Base):
    """A set of patches ingested from one layout with one nomenclature."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    nomenclature_id: Mapped[int] = mapped_column(ForeignKey("nomenclatures.id"))
    format: Mapped[str] = mapped_column(String(20))
    bands: Mapped[list[Any]]
    crs: Mapped[str | None] = mapped_column(String(1000))
    scene_dir: Mapped[str | None] = mapped_column(String(500), doc="whole scene rasters, if any")
    created_at: Mapped[datetime] = created_column()
    patches: Mapped[list[Patch]] = relationship(back_populates="dataset")


class Patch(Base):
    """One image time series with its dense label mask; arrays live in `store_dir`."""

    __tablename__ = "patches"
    __table_args__ = (
        UniqueConstraint("dataset_id", "external_id"),
        Index("ix_patches_dataset_status", "dataset_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    tile: Mapped[str | None] = mapped_column(String(20))
    footprint: Mapped[dict[str, Any]] = mapped_column(doc="GeoJSON geometry, EPSG:4326")
    crs: Mapped[str] = mapped_column(String(1000))
    bounds: Mapped[list[Any]] = mapped_column(doc="native CRS [minx, miny, maxx, maxy]")
    height: Mapped[int]
    width: Mapped[int]
    dates: Mapped[list[Any]] = mapped_column(doc="ISO dates, sorted")
    bands: Mapped[list[Any]]
    split: Mapped[str] = mapped_column(String(10), default="train")
    block: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20), default=PatchStatus.unreviewed.value)
    suspicion: Mapped[float | None] = mapped_column(doc="label-error score, higher first")
    store_dir: Mapped[str] = mapped_column(String(500), doc="relative to the data directory")
    reference_file: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = created_column()
    dataset: Mapped[Dataset] = relationship(back_populates="patches")
    revisions: Mapped[list[LabelRevision]] = relationship(
        back_populates="patch", order_by="LabelRevision.version"
    )


class LabelRevision(Base):
    """One version of a patch's label mask; a correction adds one, nothing is overwritten."""

    __tablename__ = "label_revisions"
    __table_args__ = (UniqueConstraint("patch_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patch_id: Mapped[int] = mapped_column(ForeignKey("patches.id", ondelete="CASCADE"), index=True)
    version: Mapped[int]
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("label_revisions.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    source: Mapped[str] = mapped_column(String(20), default="ingest")
    file: Mapped[str] = mapped_column(String(500), doc="relative to the data directory")
    note: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = created_column()
    patch: Mapped[Patch] = relationship(back_populates="revisions")
