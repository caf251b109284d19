"""Decisions: what is recorded, status derivation, undo, refusals that write nothing, races."""

from __future__ import annotations

import threading

import pytest

from backend import db
from backend.models import Decision, Patch
from backend.services import decisions
from backend.services.decisions import DecisionFacts, derive_status
from backend.services.nomenclatures import seed_builtins
from backend.services.users import create_user
from tests.conftest import PASSWORD, login
from tests.review_factory import assign, counts, make_patches, make_world


@pytest.fixture
def world(session, make_user):  # noqa: ANN001, ANN201
    return make_world(session, make_user)


def _decide(client, **body):  # noqa: ANN001, ANN202
    return client.post("/api/v1/decisions", json=body)


def test_accept_records_everything_asked(client, world, session) -> None:  # noqa: ANN001
    login(client, "ann1")
    patch = world.patches[0]
    response = _decide(
        client,
        patch_id=patch.id,
        kind="accept",
        comment="hedges fine",
        confidence=4,
        time_spent_ms=5230,
        view="false",
        date_shown="2022-02-04",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["patch_status"] == "accepted"
    stored = session.get(Decision, body["decision"]["id"])
    assert (stored.kind, stored.comment, stored.confidence, stored.time_spent_ms) == (
        "accept",
        "hedges fine",
        4,
        5230,
    )
    assert (stored.view, stored.date_shown, stored.campaign_id) == (
        "false",
        "2022-02-04",
        world.campaign.id,
    )
    assert stored.label_revision_id == patch.revisions[0].id
    session.expire_all()
    assert session.get(Patch, patch.id).status == "accepted"


def test_disagreement_then_adjudication(client, world) -> None:  # noqa: ANN001
    pid = world.patches[0].id
    login(client, "ann1")
    _decide(client, patch_id=pid, kind="accept")
    login(client, "ann2")
    assert _decide(client, patch_id=pid, kind="reject").json()["patch_status"] == "disputed"
    login(client, "rev")  # a reviewer may decide on any patch, and settles it
    assert _decide(client, patch_id=pid, kind="reject").json()["patch_status"] == "rejected"


def test_undo_retracts_the_last_decision_append_only(client, world, session) -> None:  # noqa: ANN001
    pid = world.patches[0].id
    login(client, "ann1")
    first = _decide(client, patch_id=pid, kind="reject").json()["decision"]
    undo = _decide(client, kind="undo")
    assert undo.status_code == 201 and undo.json()["patch_status"] == "unreviewed"
    assert undo.json()["decision"]["undoes_id"] == first["id"]
    history = client.get(f"/api/v1/patches/{pid}/history").json()["decisions"]
    assert [(d["kind"], d["undone"]) for d in history] == [("reject", True), ("undo", False)]
    assert _decide(client, kind="undo").status_code == 404  # nothing left to undo
    assert counts(session)[0] == 2


def test_unknown_patch_is_404_and_writes_nothing(client, world, session) -> None:  # noqa: ANN001
    login(client, "ann1")
    before = counts(session)
    response = _decide(client, patch_id=9999, kind="accept")
    assert response.status_code == 404 and "9999" in response.json()["detail"]
    assert counts(session) == before


def test_patch_not_assigned_is_403_for_annotators(client, world, session) -> None:  # noqa: ANN001
    login(client, "outsider")
    before = counts(session)
    response = _decide(client, patch_id=world.patches[0].id, kind="accept")
    assert response.status_code == 403 and "not assigned" in response.json()["detail"]
    assert counts(session) == before
    session.expire_all()
    assert session.get(Patch, world.patches[0].id).status == "unreviewed"


def test_missing_csrf_is_403_and_writes_nothing(client, world, session) -> None:  # noqa: ANN001
    login(client, "ann1")
    del client.headers["X-CSRF-Token"]
    before = counts(session)
    response = _decide(client, patch_id=world.patches[0].id, kind="accept")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert counts(session) == before


def test_anonymous_is_401(client, world, session) -> None:  # noqa: ANN001
    assert _decide(client, patch_id=world.patches[0].id, kind="accept").status_code in (401, 403)
    assert counts(session) == (0, 3)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "approve"},
        {"kind": "accept", "confidence": 6},
        {"kind": "accept", "time_spent_ms": -1},
        {"kind": "accept", "view": "infrared"},
        {"kind": "accept", "date_shown": "5 May"},
        {"kind": "correct"},
    ],
)
def test_malformed_decision_is_422(client, world, session, body: dict) -> None:  # noqa: ANN001
    login(client, "ann1")
    before = counts(session)
    response = _decide(client, patch_id=world.patches[0].id, **body)
    assert response.status_code == 422
    assert counts(session) == before


def test_revision_of_another_patch_is_422(client, world, session) -> None:  # noqa: ANN001
    login(client, "ann1")
    other = world.patches[1].revisions[0].id
    before = counts(session)
    response = _decide(client, patch_id=world.patches[0].id, kind="accept", label_revision_id=other)
    assert response.status_code == 422 and counts(session) == before


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((), "unreviewed"),
        (((1, "skip", 1, False, 1, None),), "unreviewed"),
        (((1, "accept", 1, False, 1, None), (2, "accept", 2, False, 1, None)), "accepted"),
        (((1, "accept", 1, False, 1, None), (2, "uncertain", 2, False, 1, None)), "disputed"),
        (((1, "accept", 1, False, 1, None), (2, "reject", 1, False, 1, None)), "rejected"),
        (((1, "reject", 1, False, 1, None), (2, "undo", 1, False, 1, 1)), "unreviewed"),
        (((1, "correct", 1, False, 1, None), (2, "accept", 2, False, 2, None)), "corrected"),
        (((1, "correct", 1, False, 1, None), (2, "accept", 2, False, 1, None)), "disputed"),
        (((1, "accept", 1, False, 1, None), (2, "reject", 3, True, 1, None)), "rejected"),
    ],
)
def test_derive_status(rows: tuple, expected: str) -> None:
    """Rows are (id, kind, user, by_reviewer, judged revision, undoes); revision 2 is current."""
    assert derive_status([DecisionFacts(*row) for row in rows], current_revision_id=2) == expected


def test_two_annotators_at_the_same_moment_are_both_kept(any_database: str) -> None:
    """Both decisions are stored and the cached status sees both (no lost update)."""
    with db.get_sessionmaker()() as session:
        seed_builtins(session=session)
        users = [
            create_user(session=session, username=f"a{i}", role="annotator", password=PASSWORD)
            for i in range(2)
        ]
        patch = make_patches(session, n=1)[0]
        assign(session, [patch], *(u.id for u in users))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(user, kind: str) -> None:  # noqa: ANN001
        try:
            with db.get_sessionmaker()() as session:
                barrier.wait()
                decisions.decide(session=session, user=user, patch_id=patch.id, kind=kind)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(u, k))
        for u, k in zip(users, ("accept", "reject"), strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    with db.get_sessionmaker()() as session:
        kinds = sorted(d.kind for d in session.query(Decision).filter_by(patch_id=patch.id))
        assert kinds == ["accept", "reject"]
        assert session.get(Patch, patch.id).status == "disputed"
