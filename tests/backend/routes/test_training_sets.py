"""The training sets API: which corpora a pre-training can reuse, what a snapshot froze."""

from __future__ import annotations

from fastapi.testclient import TestClient

from backend import db
from backend.config import get_settings
from backend.services.training_sets import create_corpus, create_training_set
from tests.conftest import login


def test_corpora_and_labels_are_listed_apart_with_what_they_froze(
    client: TestClient,
    make_user,
    ingested_dataset,
    other_scene,  # noqa: ANN001
) -> None:
    settings = get_settings()
    with db.get_sessionmaker()() as session:
        labels = create_training_set(
            session=session, settings=settings, dataset_id=ingested_dataset.id,
            include_unreviewed=True,
        ).id  # fmt: skip
        (corpus,) = create_corpus(session=session, settings=settings, dataset_ids=[other_scene.id])
        corpus = corpus.id
    assert client.get("/api/v1/training-sets").status_code == 401
    make_user("ann", "annotator")
    login(client, "ann")

    every = client.get("/api/v1/training-sets").json()
    assert [(t["id"], t["purpose"]) for t in every] == [(corpus, "corpus"), (labels, "labels")]
    assert every[0]["dataset"] == "other" and every[0]["n_patches"] == 3
    assert "unreviewed" in every[0]["statuses"]
    listed = client.get("/api/v1/training-sets", params={"purpose": "corpus"}).json()
    assert [t["id"] for t in listed] == [corpus]
    of_tiny = client.get("/api/v1/training-sets", params={"dataset_id": ingested_dataset.id})
    assert [t["id"] for t in of_tiny.json()] == [labels]
    assert client.get(f"/api/v1/training-sets/{labels}").json()["name"] == every[1]["name"]

    revisions = client.get(f"/api/v1/training-sets/{labels}/revisions").json()
    patches = sorted(ingested_dataset.patches, key=lambda p: p.id)
    assert [r["patch_id"] for r in revisions] == [p.id for p in patches]
    assert [r["split"] for r in revisions] == [p.split for p in patches]
    assert all(r["revision"] == 1 for r in revisions)


def test_a_bad_query_says_what_to_ask_for(client: TestClient, make_user) -> None:  # noqa: ANN001
    make_user("ann", "annotator")
    login(client, "ann")
    missing = client.get("/api/v1/training-sets/999")
    assert missing.status_code == 404 and "No training set with id 999" in missing.text
    assert client.get("/api/v1/training-sets/999/revisions").status_code == 404
    wrong = client.get("/api/v1/training-sets", params={"purpose": "images"})
    assert wrong.status_code == 422
    message = "Input should be 'labels' or 'corpus'"
    assert wrong.json() == {"detail": f"Invalid purpose: {message}", "errors": {"purpose": message}}
