"""Review campaigns: who reviews which patch, in which order, and how far they are.

A campaign spreads the selected patches of a dataset over its annotators so that each
patch is seen by `overlap` of them (balanced round-robin: loads differ by one patch at
most and consecutive patches rotate through the annotator pairs, so every pair shares
patches for Cohen's kappa). Gold patches with a known answer go to every annotator, spread
evenly through each queue, to measure each one's accuracy.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.errors import Conflict, Invalid, NotFound
from backend.models import Assignment, Campaign, Dataset, DecisionKind, Patch, User
from backend.services import agreement_stats as stats
from backend.services.agreement import JUDGEMENTS, campaign_decisions, standing_decisions

ORDERS = ("suspicion", "random", "id")
FILTER_KEYS = ("status", "split", "min_suspicion", "external_ids")


def create_campaign(
    *,
    session: Session,
    name: str,
    dataset_id: int,
    overlap: int,
    user_ids: list[int],
    filter: dict[str, Any] | None = None,
    gold: dict[int, str] | None = None,
    gold_external: dict[str, str] | None = None,
    order: str = "suspicion",
    created_by: int | None = None,
    seed: int = 0,
) -> Campaign:
    """Create a campaign and its assignments; validates everything before writing anything.

    Args:
        session: database session (committed on success).
        name: unique campaign name.
        dataset_id: the dataset whose patches are reviewed.
        overlap: how many annotators review each patch (1..number of annotators).
        user_ids: the annotators.
        filter: which patches: ``status`` and ``split`` (a value or a list),
            ``min_suspicion`` (keep patches scored at least this), ``external_ids``.
        gold: patch id -> expected decision (accept, reject, uncertain, correct); these
            patches go to every annotator.
        gold_external: the same, keyed by the patches' external ids.
        order: ``suspicion`` (most suspicious first), ``random`` (seeded) or ``id``.
        created_by: the admin creating it.
        seed: seed of the ``random`` order.

    Raises:
        NotFound: unknown dataset.
        Invalid: bad overlap, unknown user, bad filter or gold, empty selection.
        Conflict: a campaign of that name exists.
    """
    name = name.strip()
    if not name:
        raise Invalid("Give the campaign a name.")
    if session.get(Dataset, dataset_id) is None:
        raise NotFound(f"No dataset with id {dataset_id}.")
    if session.scalar(select(Campaign.id).where(Campaign.name == name)) is not None:
        raise Conflict(f"A campaign named {name!r} exists already.")
    if order not in ORDERS:
        raise Invalid(f"Unknown order {order!r}; use one of {', '.join(ORDERS)}.")
    users = _annotators(session=session, user_ids=user_ids)
    if not 1 <= overlap <= len(users):
        raise Invalid(
            f"Overlap must be between 1 and the number of annotators ({len(users)}), got {overlap}."
        )
    gold = {**(gold or {}), **_by_external_id(session, dataset_id, gold_external or {})}
    gold = _check_gold(session=session, dataset_id=dataset_id, gold=gold)
    pool = [
        p
        for p in _select(session=session, dataset_id=dataset_id, filter=filter or {})
        if p.id not in gold
    ]
    if not pool:
        raise Invalid("The filter selects no patch (gold patches apart): nothing to review.")
    pool = _ordered(pool, order, seed)
    queues = _queues([p.id for p in pool], users, overlap, list(gold))
    campaign = Campaign(
        name=name,
        dataset_id=dataset_id,
        overlap=overlap,
        filter=filter or {},
        order=order,
        created_by=created_by,
    )
    try:
        session.add(campaign)
        session.flush()
        rows = [
            {
                "campaign_id": campaign.id,
                "patch_id": patch_id,
                "user_id": uid,
                "position": position,
                "is_gold": patch_id in gold,
                "gold_answer": gold.get(patch_id),
            }
            for uid, queue in queues.items()
            for position, patch_id in enumerate(queue)
        ]
        session.execute(insert(Assignment), rows)
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"A campaign named {name!r} exists already.") from exc
    return campaign


def _annotators(*, session: Session, user_ids: list[int]) -> list[int]:
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        raise Invalid("Choose at least one annotator.")
    found = set(session.scalars(select(User.id).where(User.id.in_(wanted), User.active.is_(True))))
    missing = [u for u in wanted if u not in found]
    if missing:
        raise Invalid(
            f"Unknown or inactive user(s): {', '.join(map(str, missing))}.", user_ids=missing
        )
    return wanted


def _check_gold(*, session: Session, dataset_id: int, gold: dict[int, str]) -> dict[int, str]:
    allowed = {k.value for k in JUDGEMENTS}
    bad = {p: a for p, a in gold.items() if a not in allowed}
    if bad:
        raise Invalid(f"Gold answers must be one of {', '.join(sorted(allowed))}.", bad=bad)
    ids = {int(p) for p in gold}
    found = set(
        session.scalars(select(Patch.id).where(Patch.id.in_(ids), Patch.dataset_id == dataset_id))
    )
    if ids - found:
        raise Invalid(f"Gold patch(es) not in this dataset: {sorted(ids - found)}.")
    return {int(p): a for p, a in gold.items()}


def _by_external_id(session: Session, dataset_id: int, gold: dict[str, str]) -> dict[int, str]:
    ids = dict(
        session.execute(
            select(Patch.external_id, Patch.id).where(
                Patch.dataset_id == dataset_id, Patch.external_id.in_(list(gold))
            )
        ).all()
    )
    missing = sorted(set(gold) - set(ids))
    if missing:
        raise Invalid(f"Gold patch(es) not in this dataset: {missing}.")
    return {ids[e]: answer for e, answer in gold.items()}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _select(*, session: Session, dataset_id: int, filter: dict[str, Any]) -> list[Patch]:
    unknown = set(filter) - set(FILTER_KEYS)
    if unknown:
        raise Invalid(f"Unknown filter key(s) {sorted(unknown)}; use {', '.join(FILTER_KEYS)}.")
    query = select(Patch).where(Patch.dataset_id == dataset_id)
    if filter.get("status"):
        query = query.where(Patch.status.in_(_as_list(filter["status"])))
    if filter.get("split"):
        query = query.where(Patch.split.in_(_as_list(filter["split"])))
    if filter.get("min_suspicion") is not None:
        try:
            query = query.where(Patch.suspicion >= float(filter["min_suspicion"]))
        except (TypeError, ValueError) as exc:
            raise Invalid("min_suspicion must be a number.") from exc
    if filter.get("external_ids"):
        query = query.where(
            Patch.external_id.in_([str(x) for x in _as_list(filter["external_ids"])])
        )
    return list(session.scalars(query))


def _ordered(pool: list[Patch], order: str, seed: int) -> list[Patch]:
    if order == "suspicion":
        return sorted(pool, key=lambda p: (p.suspicion is None, -(p.suspicion or 0.0), p.id))
    pool = sorted(pool, key=lambda p: p.id)
    if order == "random":
        random.Random(seed).shuffle(pool)
    return pool


def _queues(
    pool: list[int], users: list[int], overlap: int, gold: list[int]
) -> dict[int, list[int]]:
    """Each annotator's queue: round-robin slots of the pool, gold spread evenly through it."""
    queues: dict[int, list[int]] = {u: [] for u in users}
    for i, patch_id in enumerate(pool):
        for k in range(overlap):
            queues[users[(i * overlap + k) % len(users)]].append(patch_id)
    for queue in queues.values():
        step = (len(queue) + len(gold)) / (len(gold) + 1)
        for j, patch_id in enumerate(gold, start=1):
            queue.insert(min(round(j * step) - 1, len(queue)), patch_id)
    return queues


def campaign_summary(*, session: Session, campaign: Campaign) -> dict[str, Any]:
    """A campaign with its size and overall progress (the listing form)."""
    total, done, patches = session.execute(
        select(
            func.count(),
            func.count().filter(Assignment.done),
            func.count(func.distinct(Assignment.patch_id)),
        ).where(Assignment.campaign_id == campaign.id)
    ).one()
    dataset = session.get(Dataset, campaign.dataset_id)
    return {
        "id": campaign.id,
        "name": campaign.name,
        "dataset_id": campaign.dataset_id,
        "dataset": dataset.name if dataset else None,
        "overlap": campaign.overlap,
        "order": campaign.order,
        "filter": campaign.filter,
        "active": campaign.active,
        "created_at": campaign.created_at.isoformat(),
        "n_patches": patches,
        "n_assignments": total,
        "done": done,
        "remaining": total - done,
    }


def campaign_progress(*, session: Session, campaign: Campaign) -> dict[str, Any]:
    """Done / remaining per annotator, their decisions and decisions per hour of work."""
    counts = session.execute(
        select(Assignment.user_id, Assignment.done, func.count())
        .where(Assignment.campaign_id == campaign.id)
        .group_by(Assignment.user_id, Assignment.done)
    ).all()
    per_user: dict[int, Counter] = {}
    for uid, done, n in counts:
        per_user.setdefault(uid, Counter())["done" if done else "remaining"] += n
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(per_user))).all())
    decisions = campaign_decisions(session=session, campaign_id=campaign.id)
    standing = standing_decisions(decisions)
    rows = []
    for uid in sorted(per_user, key=lambda u: names.get(u, "")):
        made = [d for d in decisions if d.user_id == uid and d.kind != DecisionKind.undo]
        rows.append(
            {
                "user_id": uid,
                "annotator": names.get(uid, str(uid)),
                "done": per_user[uid]["done"],
                "remaining": per_user[uid]["remaining"],
                "decisions": len(made),
                "standing": sum(1 for (_, u) in standing if u == uid),
                "decisions_per_hour": stats.decisions_per_hour(d.created_at for d in made),
                "last_decision_at": made[-1].created_at.isoformat() if made else None,
            }
        )
    return {**campaign_summary(session=session, campaign=campaign), "annotators": rows}


def get_campaign(*, session: Session, campaign_id: int) -> Campaign:
    """The campaign with this id; NotFound otherwise."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"No campaign with id {campaign_id}.")
    return campaign
