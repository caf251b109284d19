"""A new annotator's review session in headless chromium: keys only, a brush correction, history."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from backend import db
from backend.models import Decision, Patch, User
from backend.services.corrections import save_correction
from backend.services.ingest import ingest
from backend.services.labels import current_revision, read_revision
from ml.data import synthetic
from tests.conftest import browser_login
from tests.review_factory import assign

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def queue(tmp_path: Path, make_user, live_server: str) -> list[int]:  # noqa: ANN001
    """Five ingested synthetic patches, all in ann1's queue; returns their ids in order."""
    user = make_user("ann1")
    synthetic.generate(tmp_path / "src", n_patches=5, patch_size=48, n_dates=8, seed=3)
    with db.get_sessionmaker()() as session:
        ingest(session=session, path=tmp_path / "src", format="geotiff")
        patches = list(session.scalars(select(Patch).order_by(Patch.id)))
        assign(session, patches, user.id)
        return [p.id for p in patches]


def _current(page) -> int:  # noqa: ANN001
    return int(page.get_attribute("#review", "data-current-patch"))


def _wait_for_patch(page, patch_id: int) -> None:  # noqa: ANN001
    page.wait_for_function(
        "id => document.getElementById('review').dataset.currentPatch === String(id)", arg=patch_id
    )


def test_review_with_keys_correct_with_brush_and_see_history(  # noqa: ANN001
    page, queue, screenshots: Path
) -> None:
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    browser_login(page, "ann1")
    page.goto("/review")
    page.wait_for_selector("#review[data-ready=true]")
    assert _current(page) == queue[0]

    # The next patches' images are fetched before the annotator moves on.
    page.wait_for_function(
        "n => performance.getEntriesByType('resource').some(e => e.name.includes(n))",
        arg=f"/api/v1/patches/{queue[1]}/images/",
    )

    # Dates and views by keys.
    first_date = page.text_content("#date-label")
    page.keyboard.press("ArrowRight")
    assert page.text_content("#date-label") != first_date
    page.keyboard.press("f")
    assert "selected" in page.get_attribute("[data-view=false]", "class")
    page.keyboard.press("o")
    assert page.is_hidden("#img-label")
    page.keyboard.press("o")
    page.keyboard.press("?")
    assert page.is_visible("#keymap")
    page.keyboard.press("Escape")
    assert page.is_hidden("#keymap")

    # Decisions by keys: accept, reject, undo brings the rejected patch back, uncertain.
    page.keyboard.press("a")
    _wait_for_patch(page, queue[1])
    page.keyboard.press("r")
    _wait_for_patch(page, queue[2])
    page.keyboard.press("z")
    _wait_for_patch(page, queue[1])
    page.keyboard.press("u")
    _wait_for_patch(page, queue[2])
    page.keyboard.press("n")  # move on without deciding, then back
    _wait_for_patch(page, queue[3])
    page.keyboard.press("p")
    _wait_for_patch(page, queue[2])

    # A click on a pixel draws its time series with its label.
    box = page.locator("#stage").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    page.wait_for_selector("#chart .uplot canvas")
    assert "label" in page.text_content("#pixel-info")
    page.screenshot(path=str(screenshots / "review.png"), full_page=True)

    # Correct the mask: pick the 2nd palette class, brush a stroke, save.
    page.keyboard.press("e")
    page.wait_for_selector("#editor-canvas:not([hidden])")
    page.keyboard.press("2")
    code = int(page.get_attribute("#legend li[data-key='2']", "data-code"))
    page.keyboard.press("b")
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(box["x"] + box["width"] * 0.1, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=8)
    page.mouse.up()
    page.keyboard.press("Enter")
    _wait_for_patch(page, queue[3])
    assert "Saved label v2" in page.text_content("#message")

    with db.get_sessionmaker()() as session:
        revision = current_revision(session=session, patch_id=queue[2])
        assert revision.version == 2
        labels = read_revision(revision)
        assert np.all(labels[24, 8:40] == code)  # the stroke across the middle row
        ann1 = session.scalar(select(User).where(User.username == "ann1"))
        kinds = [
            d.kind for d in session.scalars(select(Decision).where(Decision.user_id == ann1.id))
        ]
        assert kinds == ["accept", "reject", "undo", "uncertain", "correct"]
        timed = session.scalars(select(Decision.time_spent_ms).where(Decision.kind == "accept"))
        assert all(t is not None and t > 0 for t in timed)

    # The patch page shows the full history.
    page.goto(f"/patches/{queue[2]}")
    history = page.text_content("#decision-history")
    assert "correct" in history and "ann1" in history
    assert page.locator("img[alt='label v2']").count() == 1
    assert not any("/static/vendor/" not in u and "cdn" in u for u in requests)


def _canvas_rgb(page, x: int, y: int) -> list[int]:  # noqa: ANN001
    return page.evaluate(
        "([x, y]) => [...document.getElementById('editor-canvas').getContext('2d')"
        ".getImageData(x, y, 1, 1).data].slice(0, 3)",
        [x, y],
    )


def test_fill_undo_redo_and_stale_save_shows_the_newer_revision(page, queue, make_user) -> None:  # noqa: ANN001
    reviewer = make_user("rev", "reviewer")
    browser_login(page, "ann1")
    page.goto("/review")
    page.wait_for_selector("#review[data-ready=true]")
    page.keyboard.press("e")
    page.wait_for_selector("#editor-canvas:not([hidden])")
    page.keyboard.press("g")
    page.keyboard.press("3")
    colour = page.evaluate(
        "() => getComputedStyle(document.querySelector(\"#legend li[data-key='3'] .swatch\"))"
        ".backgroundColor"
    )
    target = [int(v) for v in colour[colour.index("(") + 1 : -1].split(",")[:3]]
    before = _canvas_rgb(page, 10, 10)
    assert before != target  # the fill has something to change
    box = page.locator("#stage").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 10.5 / 48, box["y"] + box["height"] * 10.5 / 48)
    assert _canvas_rgb(page, 10, 10) == target
    page.keyboard.press("Control+z")
    assert _canvas_rgb(page, 10, 10) == before
    page.keyboard.press("Control+y")
    assert _canvas_rgb(page, 10, 10) == target

    # Meanwhile a reviewer saves another correction of the same patch.
    with db.get_sessionmaker()() as session:
        user = session.get(User, reviewer.id)
        base = current_revision(session=session, patch_id=queue[0])
        mask = read_revision(base)
        save_correction(
            session=session,
            user=user,
            patch_id=queue[0],
            base_revision_id=base.id,
            content=mask.tobytes(),
        )
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.getElementById('message').textContent.includes('meanwhile')"
    )
    assert "label v2" in page.text_content("#patch-meta")
    assert _current(page) == queue[0]
    with db.get_sessionmaker()() as session:
        assert current_revision(session=session, patch_id=queue[0]).version == 2
