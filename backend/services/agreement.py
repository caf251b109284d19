"""Agreement between the annotators of a campaign, read from the append-only decisions.

Each annotator's *standing* decision on a patch is their latest one that was neither
undone nor a skip (a decision of kind ``undo`` retracts the decision it names). On those:
Cohen's kappa per annotator pair, Fleiss' kappa overall and per decision, agreement per
land-cover class (the patch's majority class), IoU between the masks two annotators stand
by, accuracy on gold patches and time per decision (statistics in agreement_stats).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import combinations
from typing import Any

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from backend.models import (
    Assignment,
    Campaign,
    Dataset,
    Decision,
    DecisionKind,
    NomenclatureClass,
    User,
)
from backend.services import agreement_stats as stats
from backend.services import mask_figures

#: Decisions that say something about a label, in the order tables show them.
JUDGEMENTS = (
    DecisionKind.accept,
    DecisionKind.reject,
    DecisionKind.uncertain,
    DecisionKind.correct,
)
#: The `view` recorded on the decisions reviewers make when they settle a disagreement.
ADJUDICATION_VIEW = "adjudication"


def standing_decisions(decisions: Iterable[Decision]) -> dict[tuple[int, int], Decision]:
    """Each (patch, user)'s latest decision that is a judgement and was not undone."""
    decisions = sorted(decisions, key=lambda d: (d.created_at, d.id))
    undone = {d.undoes_id for d in decisions if d.kind == DecisionKind.undo}
    standing: dict[tuple[int, int], Decision] = {}
    for d in decisions:
        if d.kind in JUDGEMENTS and d.id not in undone:
            standing[(d.patch_id, d.user_id)] = d
    return standing


def mask_revision(decision: Decision) -> int | None:
    """The label revision an annotator stands by: their correction, or the one they accepted."""
    if decision.kind == DecisionKind.correct:
        return decision.new_revision_id
    if decision.kind == DecisionKind.accept:
        return decision.label_revision_id
    return None


def campaign_decisions(*, session: Session, campaign_id: int) -> list[Decision]:
    """Every decision annotators made on their assignments of a campaign (undos included).

    Decisions recorded without a campaign count for the campaign the patch was assigned
    in; reviewers' adjudications are not annotators' judgements and are left out.
    """
    pairs = set(
        session.execute(
            select(Assignment.patch_id, Assignment.user_id).where(
                Assignment.campaign_id == campaign_id
            )
        ).tuples()
    )
    # Select by patch (indexed) and keep the assigned (patch, user) pairs here: a join on
    # both columns lets SQLite pick the user index and scan each user's decisions per row.
    query = (
        select(Decision)
        .where(
            Decision.patch_id.in_(
                select(Assignment.patch_id).where(Assignment.campaign_id == campaign_id)
            )
        )
        .where(or_(Decision.campaign_id == campaign_id, Decision.campaign_id.is_(None)))
        .where(or_(Decision.view.is_(None), Decision.view != ADJUDICATION_VIEW))
        .order_by(Decision.created_at, Decision.id)
    )
    return [d for d in session.scalars(query) if (d.patch_id, d.user_id) in pairs]


def campaign_agreement(*, session: Session, campaign: Campaign) -> dict[str, Any]:
    """Every agreement figure of a campaign, as the API and the reviewer page show them."""
    decisions = campaign_decisions(session=session, campaign_id=campaign.id)
    standing = standing_decisions(decisions)
    assignments = list(
        session.scalars(select(Assignment).where(Assignment.campaign_id == campaign.id))
    )
    user_ids = sorted({a.user_id for a in assignments})
    names = dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all())
    by_patch: dict[int, dict[int, Decision]] = defaultdict(dict)
    for (patch_id, user_id), d in standing.items():
        by_patch[patch_id][user_id] = d
    wanted = {r for d in standing.values() for r in (mask_revision(d), d.label_revision_id) if r}
    files = mask_figures.revision_files(session=session, revision_ids=wanted)
    dataset = session.get(Dataset, campaign.dataset_id)
    ignore = tuple(_ignore_codes(session=session, nomenclature_id=dataset.nomenclature_id))
    return {
        "campaign_id": campaign.id,
        "categories": [k.value for k in JUDGEMENTS],
        "n_patches_multi": sum(len(v) >= 2 for v in by_patch.values()),
        "pairs": [
            _pair(a, b, by_patch, names, files, ignore) for a, b in combinations(user_ids, 2)
        ],
        **_overall(by_patch),
        "per_class": _per_class(
            session=session, by_patch=by_patch, files=files, nomenclature_id=dataset.nomenclature_id
        ),
        "annotators": _annotators(user_ids, names, decisions, standing, assignments),
    }


def _ignore_codes(*, session: Session, nomenclature_id: int) -> list[int]:
    return list(
        session.scalars(
            select(NomenclatureClass.code).where(
                NomenclatureClass.nomenclature_id == nomenclature_id,
                NomenclatureClass.ignore.is_(True),
            )
        )
    )


def _pair(
    a: int,
    b: int,
    by_patch: dict[int, dict[int, Decision]],
    names: dict[int, str],
    files: dict[int, str],
    ignore: tuple[int, ...],
) -> dict[str, Any]:
    """Cohen's kappa on the patches both decided; mean IoU where at least one corrected."""
    shared = [v for v in by_patch.values() if a in v and b in v]
    kinds_a, kinds_b = [v[a].kind for v in shared], [v[b].kind for v in shared]
    ious = []
    for v in shared:
        rev_a, rev_b = mask_revision(v[a]), mask_revision(v[b])
        corrected = DecisionKind.correct in (v[a].kind, v[b].kind)
        if corrected and rev_a is not None and rev_b is not None:
            ious.append(mask_figures.iou(files[rev_a], files[rev_b], ignore))
    return {
        "annotators": [names.get(a, str(a)), names.get(b, str(b))],
        "user_ids": [a, b],
        "n_patches": len(shared),
        "observed_agreement": (
            sum(x == y for x, y in zip(kinds_a, kinds_b, strict=True)) / len(shared)
            if shared
            else None
        ),
        "cohen_kappa": stats.cohen_kappa(kinds_a, kinds_b),
        "n_masks_compared": len(ious),
        "mean_iou": float(np.mean(ious)) if ious else None,
    }


def _counts(by_patch: dict[int, dict[int, Decision]]) -> np.ndarray:
    rows = [[sum(d.kind == k for d in v.values()) for k in JUDGEMENTS] for v in by_patch.values()]
    return np.array(rows, dtype=float).reshape(-1, len(JUDGEMENTS))


def _overall(by_patch: dict[int, dict[int, Decision]]) -> dict[str, Any]:
    counts = _counts(by_patch)
    per_kind = stats.fleiss_category_kappa(counts)
    return {
        "fleiss_kappa": stats.fleiss_kappa(counts),
        "per_decision": [
            {
                "decision": k.value,
                "n": int(counts[:, i].sum()),
                "kappa": per_kind[i] if per_kind else None,
            }
            for i, k in enumerate(JUDGEMENTS)
        ],
    }


def _per_class(
    *,
    session: Session,
    by_patch: dict[int, dict[int, Decision]],
    files: dict[int, str],
    nomenclature_id: int,
) -> list[dict[str, Any]]:
    """Agreement on decisions grouped by the majority land-cover class of the label judged."""
    groups: dict[int, list[float]] = defaultdict(list)
    for judged in by_patch.values():
        agreement = stats.pairwise_agreement([d.kind for d in judged.values()])
        judged_revision = min(
            (d.label_revision_id for d in judged.values() if d.label_revision_id), default=None
        )
        if agreement is not None and judged_revision in files:
            groups[mask_figures.majority_class(files[judged_revision])].append(agreement)
    names = dict(
        session.execute(
            select(NomenclatureClass.code, NomenclatureClass.name_en).where(
                NomenclatureClass.nomenclature_id == nomenclature_id
            )
        ).all()
    )
    return [
        {
            "code": code,
            "name": names.get(code, str(code)),
            "n_patches": len(v),
            "agreement": float(np.mean(v)),
        }
        for code, v in sorted(groups.items())
    ]


def _annotators(
    user_ids: list[int],
    names: dict[int, str],
    decisions: list[Decision],
    standing: dict[tuple[int, int], Decision],
    assignments: list[Assignment],
) -> list[dict[str, Any]]:
    """Per annotator: accuracy on gold patches and median time per decision."""
    out = []
    for uid in user_ids:
        gold = [a for a in assignments if a.user_id == uid and a.is_gold and a.gold_answer]
        answered = [(a, standing[(a.patch_id, uid)]) for a in gold if (a.patch_id, uid) in standing]
        right = sum(d.kind == a.gold_answer for a, d in answered)
        own = [d for d in decisions if d.user_id == uid and d.kind != DecisionKind.undo]
        out.append(
            {
                "user_id": uid,
                "annotator": names.get(uid, str(uid)),
                "n_decisions": len(own),
                "decisions": dict(Counter(d.kind for (_, u), d in standing.items() if u == uid)),
                "n_gold": len(gold),
                "n_gold_answered": len(answered),
                "gold_accuracy": right / len(answered) if answered else None,
                "median_time_s": _seconds(stats.median_or_none(d.time_spent_ms for d in own)),
            }
        )
    return out


def _seconds(ms: float | None) -> float | None:
    return ms / 1000 if ms is not None else None
