"""Built-in nomenclatures are seeded; admins load new ones; bad files are refused."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient


def test_builtin_oso_nomenclature_has_official_colours(admin_client: TestClient) -> None:
    listing = {n["name"]: n for n in admin_client.get("/api/v1/nomenclatures").json()}
    assert {"oso-2018", "oso-2016", "pastis"} <= set(listing)
    oso = {c["code"]: c for c in listing["oso-2018"]["classes"]}
    assert oso[23]["colour"].lower() == "#0000ff" and oso[23]["name_fr"] == "Eau"
    assert oso[1]["colour"].lower() == "#ff00ff"
    assert oso[0]["ignore"] is True
    assert len([c for c in oso.values() if not c["ignore"]]) == 23


def test_admin_loads_a_csv_nomenclature(admin_client: TestClient) -> None:
    csv = (
        "code,name_en,name_fr,colour,ignore,group\n"
        "0,no data,,#000000,true,\n"
        "1,crop,culture,#ffff00,false,agri\n"
    )
    response = admin_client.post(
        "/api/v1/nomenclatures", files={"file": ("crops.csv", csv.encode(), "text/csv")}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [c["code"] for c in body["classes"]] == [0, 1]
    assert admin_client.get(f"/api/v1/nomenclatures/{body['id']}").json()["name"]


def test_bad_nomenclature_file_is_refused_and_nothing_saved(admin_client: TestClient) -> None:
    before = len(admin_client.get("/api/v1/nomenclatures").json())
    bad = json.dumps(
        {
            "name": "dup",
            "classes": [
                {"code": 1, "name_en": "a", "colour": "#ffffff"},
                {"code": 1, "name_en": "b", "colour": "#000000"},
            ],
        }
    )
    response = admin_client.post(
        "/api/v1/nomenclatures", files={"file": ("dup.json", bad.encode(), "application/json")}
    )
    assert response.status_code == 422
    assert "not valid" in response.json()["detail"]
    wrong_type = admin_client.post(
        "/api/v1/nomenclatures", files={"file": ("n.txt", b"hello", "text/plain")}
    )
    assert wrong_type.status_code == 422
    assert len(admin_client.get("/api/v1/nomenclatures").json()) == before


def test_unknown_nomenclature_is_404(admin_client: TestClient) -> None:
    response = admin_client.get("/api/v1/nomenclatures/9999")
    assert response.status_code == 404
    assert "9999" in response.json()["detail"]
