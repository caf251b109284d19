"""An annotator's review queue: their open assignments in active campaigns, by position.

Campaigns order assignments (most suspicious patches first) by writing `position`; the
queue only reads that order, so "next patch" is one indexed query on
(user_id, done, position) whatever the size of the dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.models import Assignment, Campaign


@dataclass(frozen=True)
class QueueItem:
    """One open assignment: which patch, in which campaign, at which place in the queue."""

    assignment_id: int
    patch_id: int
    campaign_id: int
    position: int


@dataclass(frozen=True)
class QueueView:
    """The patch to show now, the ones after it (to prefetch) and how many are left."""

    current: QueueItem | None
    upcoming: list[QueueItem]
    remaining: int


def _open_assignments(user_id: int):  # noqa: ANN202 - a SQLAlchemy select
    return (
        select(
            Assignment.id,
            Assignment.patch_id,
            Assignment.campaign_id,
            Assignment.position,
        )
        .join(Campaign, Campaign.id == Assignment.campaign_id)
        .where(Assignment.user_id == user_id, Assignment.done.is_(False), Campaign.active.is_(True))
        .order_by(Assignment.position, Assignment.id)
    )


def queue_view(
    *, session: Session, user_id: int, prefetch: int, after_position: int | None = None
) -> QueueView:
    """The user's next open assignment (after `after_position`, wrapping round) and the next few.

    `after_position` lets the annotator move on (key n) without deciding: the queue
    continues after the patch on screen and wraps to the start at its end.
    """
    query = _open_assignments(user_id)
    items = _items(session, query, after_position, prefetch + 1)
    if after_position is not None and len(items) < prefetch + 1:
        seen = {i.assignment_id for i in items}
        wrapped = _items(session, query, None, prefetch + 1)
        items += [i for i in wrapped if i.assignment_id not in seen][: prefetch + 1 - len(items)]
    remaining = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return QueueView(
        current=items[0] if items else None, upcoming=items[1:], remaining=remaining or 0
    )


def _items(session: Session, query, after_position: int | None, limit: int) -> list[QueueItem]:  # noqa: ANN001
    if after_position is not None:
        query = query.where(Assignment.position > after_position)
    return [QueueItem(*row) for row in session.execute(query.limit(limit)).all()]


def assignment_for(*, session: Session, user_id: int, patch_id: int) -> Assignment | None:
    """The user's assignment of this patch (an open one first), or None."""
    return session.scalar(
        select(Assignment)
        .where(Assignment.user_id == user_id, Assignment.patch_id == patch_id)
        .order_by(Assignment.done, Assignment.position)
        .limit(1)
    )


def move_to_end(*, session: Session, assignment: Assignment) -> None:
    """A skipped patch goes to the back of the user's queue (it stays open)."""
    last = session.scalar(
        select(func.max(Assignment.position)).where(Assignment.user_id == assignment.user_id)
    )
    assignment.position = (last or 0) + 1


def reopen_first(*, session: Session, assignment: Assignment) -> None:
    """An undone decision puts the patch back at the front of the queue, so it shows next."""
    first = session.scalar(
        select(func.min(Assignment.position)).where(
            Assignment.user_id == assignment.user_id, Assignment.done.is_(False)
        )
    )
    assignment.done = False
    assignment.position = min(first if first is not None else 0, assignment.position) - 1
