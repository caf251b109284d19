"""Map products: COGs of predicted classes, confidence, composites and comparisons."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.models.base import Base, created_column


class MapKind(StrEnum):
    """What a map product's pixels mean, which decides how its tiles are rendered."""

    classes = "classes"
    confidence = "confidence"
    composite = "composite"
    reference = "reference"
    disagreement = "disagreement"


class MapProduct(Base):
    """One raster served as tiles; clients refer to it by id, never by path."""

    __tablename__ = "map_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))
    file: Mapped[str] = mapped_column(String(500), doc="COG, relative to the data directory")
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = created_column()
