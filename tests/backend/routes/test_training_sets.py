"""The training sets API: which corpora a pre-training can reuse, what a snapshot froze."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from backend import db
from backend.config import get_settings
from backend.models import LabelRevision, Patch, Run
from backend.services.training_sets import create_corpus, create_training_set
from tests.conftest import login


@pytest.fixture
def frozen(ingested_dataset, other_scene) -> tuple[int, int]:  # noqa: ANN001
    """Ids of a training set of the tiny dataset's labels and of a corpus of the other."""
    settings = get_settings()
    with db.get_sessionmaker()() as session:
        labels = create_training_set(
            session=session, settings=settings, dataset_id=ingested_dataset.id,
            include_unreviewed=True,
        )  # fmt: skip
        (corpus,) = create_corpus(session=session, settings=settings, dataset_ids=[other_scene.id])
        return labels.id, corpus.id


def test_corpora_and_labels_are_listed_apart_with_what_they_froze(
    client: TestClient,
    make_user,
    ingested_dataset,
    frozen,  # noqa: ANN001
) -> None:
    labels, corpus = frozen
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


class _Table(HTMLParser):
    """Each row of the table with this id, as its cells' text."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id, self.rows, self._inside, self._cell = table_id, [], False, None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self._inside = True
        elif self._inside and tag == "tr":
            self.rows.append([])
        elif self._inside and tag == "td":
            self._cell = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._inside = False
        elif self._inside and tag == "td":
            self.rows[-1].append(" ".join(self._cell.split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell += data


def _rows(html: str, table_id: str) -> list[list[str]]:
    parser = _Table(table_id)
    parser.feed(html)
    return [row for row in parser.rows if row]


def test_the_pages_show_what_was_frozen_who_read_it_and_what_changed_since(
    client: TestClient,
    make_user,
    ingested_dataset,
    frozen,  # noqa: ANN001
) -> None:
    settings = get_settings()
    labels_id, corpus_id = frozen
    with db.get_sessionmaker()() as session:
        session.add_all([
            Run(kind="pretrain", name="pre", training_set_id=labels_id, out_dir="runs/a",
                params={"corpus_training_set_ids": [corpus_id]}),
            Run(kind="finetune", name="ft", training_set_id=labels_id, out_dir="runs/b", params={}),
        ])  # fmt: skip
        corrected = max(ingested_dataset.patches, key=lambda p: p.id)  # the last frozen
        first = session.get(LabelRevision, corrected.revisions[0].id)
        session.add(LabelRevision(patch_id=corrected.id, version=2, parent_id=first.id,
                                  source="correction", file=first.file))  # fmt: skip
        session.get(Patch, corrected.id).status = "corrected"
        session.commit()
    make_user("ann", "annotator")
    login(client, "ann")

    listing = client.get("/training-sets")
    assert listing.status_code == 200
    rows = _rows(listing.text, "training-sets")
    assert [(r[0], r[3], r[4], r[6]) for r in rows] == [
        (str(corpus_id), "corpus", "3", "#1"),
        (str(labels_id), "labels", "4", "#1 #2"),
    ]
    corpora = _rows(
        client.get("/training-sets", params={"purpose": "corpus"}).text, "training-sets"
    )
    assert [r[0] for r in corpora] == [str(corpus_id)]

    page = client.get(f"/training-sets/{labels_id}").text
    assert "<b>1</b> of 4 patches have a newer label revision" in page
    frozen = _rows(page, "frozen-patches")
    assert len(frozen) == 4
    assert frozen[0][2:] == ["v1", "v2", "corrected"]  # trained on v1, corrected since: first
    assert frozen[0][0] == corrected.external_id
    assert all(row[2] == row[3] == "v1" for row in frozen[1:])
    assert 'href="/runs/1"' in page and 'href="/runs/2"' in page
    assert "Every patch's label is still" in client.get(f"/training-sets/{corpus_id}").text

    settings.path(f"snapshots/{corpus_id}.json").unlink()
    lost = client.get(f"/training-sets/{corpus_id}")
    assert lost.status_code == 200 and "has lost its snapshot file" in lost.text
    assert client.get("/training-sets/999").status_code == 404
