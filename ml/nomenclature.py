"""Land-cover nomenclatures as data: codes, names, colours, ignore flags, level-1 groups.

OSO changed its legend between 2017 (17 classes, codes 11..222) and 2018 (23 classes,
codes 1..23), and PASTIS has its own 20 crop classes, so a legend is never hard-coded:
it is a table read from JSON or CSV. The built-in tables live in ``ml/nomenclatures/``;
OSO's codes and colours follow the Theia OSO product (see docs/data-format.md).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUILTIN_DIR = Path(__file__).parent / "nomenclatures"
CSV_COLUMNS = ("code", "name_en", "name_fr", "colour", "ignore", "group")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_TRUE = {"true", "1", "yes", "y"}
_FALSE = {"false", "0", "no", "n", ""}


@dataclass(frozen=True)
class NomenclatureClass:
    """One class of a legend; ``ignore`` classes (no data, void) are never learnt or scored."""

    code: int
    name_en: str
    name_fr: str
    colour: str
    ignore: bool = False
    group: str | None = None

    @property
    def rgb(self) -> tuple[int, int, int]:
        """The colour as an (r, g, b) triple of 0..255 integers."""
        return tuple(int(self.colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


@dataclass(frozen=True)
class Nomenclature:
    """A named legend: an ordered tuple of classes with unique uint8 codes."""

    name: str
    classes: tuple[NomenclatureClass, ...]

    def __post_init__(self) -> None:
        _check(self.name, self.classes, source=f"nomenclature {self.name!r}")

    @property
    def codes(self) -> list[int]:
        """Every code, ignored ones included, in table order."""
        return [c.code for c in self.classes]

    @property
    def valid_codes(self) -> list[int]:
        """Codes a model learns and metrics score (not ``ignore``)."""
        return [c.code for c in self.classes if not c.ignore]

    @property
    def ignore_codes(self) -> list[int]:
        """Codes that mean "no data" or "void" in this legend."""
        return [c.code for c in self.classes if c.ignore]

    @property
    def groups(self) -> list[str]:
        """Level-1 groups in order of first appearance (for coarse confusion matrices)."""
        seen: dict[str, None] = {}
        for c in self.classes:
            if c.group is not None:
                seen.setdefault(c.group, None)
        return list(seen)

    def get(self, code: int) -> NomenclatureClass:
        """The class with this code; KeyError names the legend when there is none."""
        for c in self.classes:
            if c.code == code:
                return c
        raise KeyError(f"code {code} is not in nomenclature {self.name!r}")

    def colormap(self) -> dict[int, tuple[int, int, int, int]]:
        """{code: (r, g, b, a)} for GDAL colour tables and map tiles; ignored codes transparent."""
        return {c.code: (*c.rgb, 0 if c.ignore else 255) for c in self.classes}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (as stored in manifests and training-set snapshots)."""
        return {
            "name": self.name,
            "classes": [
                {
                    "code": c.code,
                    "name_en": c.name_en,
                    "name_fr": c.name_fr,
                    "colour": c.colour,
                    "ignore": c.ignore,
                    "group": c.group,
                }
                for c in self.classes
            ],
        }

    @classmethod
    def from_dict(cls, data: Any, source: str = "nomenclature") -> Nomenclature:
        """Build from the JSON form; ValueError says what is wrong and where."""
        if not isinstance(data, dict) or not isinstance(data.get("classes"), list):
            raise ValueError(f"{source}: expected an object with a 'classes' list")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{source}: 'name' must be a non-empty string")
        rows = []
        for i, row in enumerate(data["classes"]):
            if not isinstance(row, dict):
                raise ValueError(f"{source}: class #{i + 1} is not an object")
            rows.append(_parse_row(row, f"{source}, class #{i + 1}"))
        _check(name, tuple(rows), source)
        return cls(name=name, classes=tuple(rows))


def builtin_names() -> list[str]:
    """Names accepted by :func:`builtin`."""
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.json"))


def builtin(name: str) -> Nomenclature:
    """A shipped legend: "oso-2018" (23 classes + no data), "oso-2016" (17 + no data), "pastis"."""
    path = BUILTIN_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"unknown nomenclature {name!r}; built in: {', '.join(builtin_names())}")
    return load(path)


def load(path: Path) -> Nomenclature:
    """Read a legend from a .json file (the to_dict form) or a .csv file.

    CSV columns: code,name_en,name_fr,colour,ignore,group (header required; the legend is
    named after the file). ValueError, naming the file and the row, on any bad content.
    """
    path = Path(path)
    source = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ValueError(f"{source}: cannot read nomenclature file ({exc.strerror})") from exc
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{source}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
        return Nomenclature.from_dict(data, source)
    if path.suffix.lower() == ".csv":
        return _from_csv(text, path.stem, source)
    raise ValueError(f"{source}: nomenclature files must end in .json or .csv")


def _from_csv(text: str, name: str, source: str) -> Nomenclature:
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(
            f"{source}: missing CSV column(s) {', '.join(missing)}; "
            f"expected header {','.join(CSV_COLUMNS)}"
        )
    rows = tuple(
        _parse_row(row, f"{source}, line {i + 2}")
        for i, row in enumerate(reader)
        if any((v or "").strip() for v in row.values() if isinstance(v, str))
    )
    _check(name, rows, source)
    return Nomenclature(name=name, classes=rows)


def _parse_row(row: dict[str, Any], where: str) -> NomenclatureClass:
    code = row.get("code")
    try:
        code_int = int(str(code).strip())
    except ValueError:
        raise ValueError(f"{where}: code {code!r} is not an integer") from None
    ignore = row.get("ignore", False)
    if isinstance(ignore, str):
        flag = ignore.strip().lower()
        if flag not in _TRUE | _FALSE:
            raise ValueError(f"{where}: ignore must be true or false, got {ignore!r}")
        ignore = flag in _TRUE
    elif not isinstance(ignore, bool):
        raise ValueError(f"{where}: ignore must be true or false, got {ignore!r}")
    group = row.get("group")
    group = (str(group).strip() or None) if group is not None else None
    return NomenclatureClass(
        code=code_int,
        name_en=str(row.get("name_en") or "").strip(),
        name_fr=str(row.get("name_fr") or "").strip(),
        colour=str(row.get("colour") or "").strip().lower(),
        ignore=ignore,
        group=group,
    )


def _check(name: str, classes: tuple[NomenclatureClass, ...], source: str) -> None:
    if not name:
        raise ValueError(f"{source}: the nomenclature needs a name")
    if not classes:
        raise ValueError(f"{source}: the nomenclature has no classes")
    seen: set[int] = set()
    for c in classes:
        if not 0 <= c.code <= 255:
            raise ValueError(f"{source}: code {c.code} is outside 0..255 (labels are uint8)")
        if c.code in seen:
            raise ValueError(f"{source}: duplicate code {c.code}")
        seen.add(c.code)
        if not c.name_en:
            raise ValueError(f"{source}: class {c.code} has no English name (name_en)")
        if not _COLOUR.match(c.colour):
            raise ValueError(f"{source}: class {c.code} has bad colour {c.colour!r}; use #rrggbb")
    if all(c.ignore for c in classes):
        raise ValueError(f"{source}: every class is marked ignore; nothing could be learnt")
