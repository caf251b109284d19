"""Nomenclatures as the API shows them."""

from __future__ import annotations

from pydantic import BaseModel


class ClassOut(BaseModel):
    """One class of a legend."""

    code: int
    name_en: str
    name_fr: str
    colour: str
    ignore: bool
    group: str | None


class NomenclatureOut(BaseModel):
    """A legend with its classes in code order."""

    id: int
    name: str
    builtin: bool
    classes: list[ClassOut]
