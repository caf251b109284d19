"""Nomenclatures in the database: the built-in ones, uploaded ones, conversions to ml's."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import Conflict
from backend.models import Nomenclature, NomenclatureClass
from backend.schemas.nomenclatures import ClassOut, NomenclatureOut
from ml import nomenclature as ml_nomenclature

BUILTINS = ("oso-2018", "oso-2016", "pastis")
CLASS_FIELDS = ("code", "name_en", "name_fr", "colour", "ignore", "group")


def save_nomenclature(
    *, session: Session, nomenclature: ml_nomenclature.Nomenclature, builtin: bool = False
) -> Nomenclature:
    """Store a nomenclature; a name already taken is a conflict."""
    if session.scalar(select(Nomenclature).where(Nomenclature.name == nomenclature.name)):
        raise Conflict(f"A nomenclature named {nomenclature.name!r} exists already.")
    row = Nomenclature(name=nomenclature.name, builtin=builtin)
    row.classes = [NomenclatureClass(**_class_fields(c)) for c in nomenclature.classes]
    session.add(row)
    session.commit()
    return row


def _class_fields(cls: ml_nomenclature.NomenclatureClass | NomenclatureClass) -> dict:
    """The fields a class has in both the database and the ml package."""
    return {name: getattr(cls, name) for name in CLASS_FIELDS}


def seed_builtins(*, session: Session) -> None:
    """Insert the built-in nomenclatures that are missing (idempotent)."""
    existing = set(session.scalars(select(Nomenclature.name)))
    for name in BUILTINS:
        if name not in existing:
            save_nomenclature(
                session=session, nomenclature=ml_nomenclature.builtin(name), builtin=True
            )


def to_ml(row: Nomenclature) -> ml_nomenclature.Nomenclature:
    """The ml package's view of a stored nomenclature."""
    return ml_nomenclature.Nomenclature(
        name=row.name,
        classes=tuple(ml_nomenclature.NomenclatureClass(**_class_fields(c)) for c in row.classes),
    )


def get_or_create(*, session: Session, nomenclature: ml_nomenclature.Nomenclature) -> Nomenclature:
    """The stored nomenclature of that name, or a new one from the given definition."""
    row = session.scalar(select(Nomenclature).where(Nomenclature.name == nomenclature.name))
    return row if row is not None else save_nomenclature(session=session, nomenclature=nomenclature)


def nomenclature_out(row: Nomenclature) -> NomenclatureOut:
    """API form of a stored nomenclature."""
    return NomenclatureOut(
        id=row.id,
        name=row.name,
        builtin=row.builtin,
        classes=[ClassOut.model_validate(c, from_attributes=True) for c in row.classes],
    )
