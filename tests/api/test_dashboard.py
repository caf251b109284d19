"""The dashboard tells each role where to go next."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import login


def test_annotator_sees_review_but_not_training(
    client: TestClient, make_user, ingested_dataset
) -> None:
    make_user("ann", "annotator")
    login(client, "ann")
    page = client.get("/").text
    assert "Review patches" in page and "nothing assigned to you" in page
    assert "Train a model" not in page
    assert "tiny" in page and "4 patches" in page


def test_admin_sees_training_and_comparison(admin_client: TestClient) -> None:
    page = admin_client.get("/").text
    assert "Train a model" in page and "Compare runs" in page and "Explore the maps" in page
