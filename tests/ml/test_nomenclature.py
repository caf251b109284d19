"""Nomenclatures are data: built-in legends, JSON and CSV loading, clear errors on bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.nomenclature import Nomenclature, NomenclatureClass, builtin, builtin_names, load

CSV_HEADER = "code,name_en,name_fr,colour,ignore,group\n"


def test_oso_2018_has_23_classes_with_official_codes_and_colours() -> None:
    oso = builtin("oso-2018")
    assert oso.valid_codes == list(range(1, 24))
    assert oso.ignore_codes == [0]
    assert oso.get(10).name_fr == "Maïs" and oso.get(10).colour == "#ff5500"
    assert oso.get(23).colour == "#0000ff" and oso.get(23).group == "water"
    assert oso.get(17).colour == "#003200" and oso.get(17).group == "forest"
    assert oso.groups == [
        "urban",
        "annual crops",
        "perennial",
        "forest",
        "low natural vegetation",
        "mineral",
        "snow",
        "water",
    ]


def test_oso_2016_and_pastis_legends() -> None:
    old = builtin("oso-2016")
    assert sorted(old.valid_codes) == [
        11,
        12,
        31,
        32,
        34,
        36,
        41,
        42,
        43,
        44,
        45,
        46,
        51,
        53,
        211,
        221,
        222,
    ]
    # the 2016–2017 map style: winter crops pale yellow, summer crops orange, meadows olive
    assert old.get(12).colour == "#ffff7f" and old.get(11).colour == "#ff5500"
    assert old.get(211).colour == "#aaaa00" and old.get(46).colour == "#ffb802"
    pastis = builtin("pastis")
    assert pastis.codes == list(range(20))
    assert pastis.ignore_codes == [0, 19]
    assert pastis.get(2).name_en == "Soft winter wheat" and pastis.get(18).name_en == "Sorghum"
    colours = [c.colour for c in pastis.classes if not c.ignore]
    assert len(set(colours)) == len(colours), "PASTIS classes need distinct colours"
    assert set(builtin_names()) >= {"oso-2018", "oso-2016", "pastis"}


def test_colormap_makes_ignored_codes_transparent() -> None:
    cmap = builtin("oso-2018").colormap()
    assert cmap[10] == (255, 85, 0, 255)
    assert cmap[0][3] == 0


def test_dict_round_trip_and_json_file(tmp_path: Path) -> None:
    oso = builtin("oso-2018")
    assert Nomenclature.from_dict(oso.to_dict()) == oso
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(oso.to_dict()))
    assert load(path) == oso


def test_csv_file_loads_with_flags_and_groups(tmp_path: Path) -> None:
    path = tmp_path / "crops.csv"
    path.write_text(
        CSV_HEADER
        + "0,no data,,#000000,true,\n1,Wheat,Blé,#FFFF00,false,cereals\n2,Maize,Maïs,#ff5500,no,\n"
    )
    legend = load(path)
    assert legend.name == "crops"
    assert legend.classes[1] == NomenclatureClass(1, "Wheat", "Blé", "#ffff00", False, "cereals")
    assert legend.ignore_codes == [0] and legend.get(2).group is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("1,a,a,#000000,false,\n1,b,b,#111111,false,\n", "duplicate code 1"),
        ("1,a,a,red,false,\n", "bad colour 'red'"),
        ("1,a,a,#12345,false,\n", "bad colour"),
        ("x,a,a,#000000,false,\n", "code 'x' is not an integer"),
        ("300,a,a,#000000,false,\n", "outside 0..255"),
        ("1,a,a,#000000,maybe,\n", "ignore must be true or false"),
        ("1,,a,#000000,false,\n", "no English name"),
        ("0,a,a,#000000,true,\n", "every class is marked ignore"),
        ("", "no classes"),
    ],
)
def test_bad_csv_is_refused_with_a_clear_message(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(CSV_HEADER + body)
    with pytest.raises(ValueError, match=message) as info:
        load(path)
    assert "bad.csv" in str(info.value)


def test_bad_files_are_refused(tmp_path: Path) -> None:
    missing_column = tmp_path / "cols.csv"
    missing_column.write_text("code,name_en,colour\n1,a,#000000\n")
    with pytest.raises(ValueError, match="missing CSV column"):
        load(missing_column)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load(broken)
    duplicate = tmp_path / "dup.json"
    row = {
        "code": 3,
        "name_en": "a",
        "name_fr": "a",
        "colour": "#000000",
        "ignore": False,
        "group": None,
    }
    duplicate.write_text(json.dumps({"name": "dup", "classes": [row, row]}))
    with pytest.raises(ValueError, match="duplicate code 3"):
        load(duplicate)
    other = tmp_path / "legend.txt"
    other.write_text("whatever")
    with pytest.raises(ValueError, match=r"\.json or \.csv"):
        load(other)
    with pytest.raises(ValueError, match="cannot read"):
        load(tmp_path / "absent.json")
    with pytest.raises(ValueError, match="unknown nomenclature 'corine'"):
        builtin("corine")
