"""The review queue: next patch, prefetch list, moving on, skipping, undo, the page."""

from __future__ import annotations

import json

import pytest

from backend.models import Campaign
from tests.conftest import login
from tests.review_factory import make_world


@pytest.fixture
def world(session, make_user):  # noqa: ANN001, ANN201
    return make_world(session, make_user)


def _next(client, **params) -> dict:  # noqa: ANN001
    response = client.get("/api/v1/review/next", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_next_gives_first_assignment_and_prefetch_ids(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    ids = [p.id for p in world.patches]
    body = _next(client)
    assert body["current"]["patch_id"] == ids[0]
    assert [u["patch_id"] for u in body["upcoming"]] == ids[1:]
    assert body["remaining"] == 3


def test_deciding_moves_the_queue_on(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    ids = [p.id for p in world.patches]
    client.post("/api/v1/decisions", json={"patch_id": ids[0], "kind": "accept"})
    body = _next(client)
    assert body["current"]["patch_id"] == ids[1] and body["remaining"] == 2
    # The other annotator's queue is their own.
    login(client, "ann2")
    assert _next(client)["current"]["patch_id"] == ids[0]


def test_after_position_moves_on_without_deciding_and_wraps(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    ids = [p.id for p in world.patches]
    first = _next(client)["current"]
    second = _next(client, after_position=first["position"])["current"]
    assert second["patch_id"] == ids[1]
    last = _next(client, after_position=2)
    assert last["current"]["patch_id"] == ids[0]  # wrapped round
    assert last["remaining"] == 3


def test_skip_sends_the_patch_to_the_back(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    ids = [p.id for p in world.patches]
    client.post("/api/v1/decisions", json={"patch_id": ids[0], "kind": "skip"})
    body = _next(client)
    assert body["current"]["patch_id"] == ids[1]
    assert [u["patch_id"] for u in body["upcoming"]] == [ids[2], ids[0]]


def test_undo_brings_the_patch_back_first(client, world) -> None:  # noqa: ANN001
    login(client, "ann1")
    ids = [p.id for p in world.patches]
    client.post("/api/v1/decisions", json={"patch_id": ids[0], "kind": "accept"})
    client.post("/api/v1/decisions", json={"patch_id": ids[1], "kind": "reject"})
    client.post("/api/v1/decisions", json={"kind": "undo"})
    assert _next(client)["current"]["patch_id"] == ids[1]


def test_inactive_campaign_and_empty_queue(client, world, session) -> None:  # noqa: ANN001
    login(client, "outsider")
    assert _next(client) == {"current": None, "upcoming": [], "remaining": 0}
    session.get(Campaign, world.campaign.id).active = False
    session.commit()
    login(client, "ann1")
    assert _next(client)["current"] is None


def test_review_page_needs_login_and_renders(client, world) -> None:  # noqa: ANN001
    response = client.get("/review", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    login(client, "ann1")
    page = client.get("/review")
    assert page.status_code == 200
    assert "/static/js/review.js" in page.text and 'id="keymap"' in page.text
    # The queue and the first patch are in the page: no API round trip before the images.
    state = json.loads(page.text.split('id="initial-state">')[1].split("</script>")[0])
    assert state["queue"]["current"]["patch_id"] == world.patches[0].id
    assert state["detail"]["id"] == world.patches[0].id
    other = client.get(f"/review?patch={world.patches[2].id}").text
    assert f'"external_id": "{world.patches[2].external_id}"' in other
