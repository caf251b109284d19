"""Nomenclatures are data: a table of classes with codes, names, colours and groups."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.models.base import Base


class Nomenclature(Base):
    """A legend (OSO 2018, OSO 2016, PASTIS, or one loaded from a file)."""

    __tablename__ = "nomenclatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    builtin: Mapped[bool] = mapped_column(default=False)
    classes: Mapped[list[NomenclatureClass]] = relationship(
        back_populates="nomenclature",
        order_by="NomenclatureClass.code",
        cascade="all, delete-orphan",
    )


class NomenclatureClass(Base):
    """One class of a nomenclature; `ignore` marks no-data / void codes."""

    __tablename__ = "nomenclature_classes"
    __table_args__ = (UniqueConstraint("nomenclature_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nomenclature_id: Mapped[int] = mapped_column(ForeignKey("nomenclatures.id", ondelete="CASCADE"))
    code: Mapped[int]
    name_en: Mapped[str] = mapped_column(String(200))
    name_fr: Mapped[str] = mapped_column(String(200), default="")
    colour: Mapped[str] = mapped_column(String(7))
    ignore: Mapped[bool] = mapped_column(default=False)
    group: Mapped[str | None] = mapped_column(String(100))
    nomenclature: Mapped[Nomenclature] = relationship(back_populates="classes")
