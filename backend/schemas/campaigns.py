"""Campaigns, agreement, adjudication and exports as the API takes and shows them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Answer = Literal["accept", "reject", "uncertain", "correct"]


class CampaignFilter(BaseModel):
    """Which patches of the dataset the campaign covers (all of them when empty)."""

    status: list[str] | None = None
    split: list[Literal["train", "val", "test"]] | None = None
    min_suspicion: float | None = Field(None, description="keep patches scored at least this")
    external_ids: list[str] | None = None

    def as_dict(self) -> dict:
        """The non-empty criteria, as stored on the campaign."""
        return self.model_dump(exclude_none=True)


class CampaignIn(BaseModel):
    """A new campaign: each selected patch is reviewed by `overlap` of `user_ids`."""

    name: str = Field(min_length=1, max_length=200)
    dataset_id: int
    overlap: int = Field(2, description="annotators per patch")
    user_ids: list[int]
    filter: CampaignFilter = CampaignFilter()
    gold: dict[int, Answer] = Field(
        default_factory=dict, description="patch id -> expected decision"
    )
    gold_external: dict[str, Answer] = Field(
        default_factory=dict, description="the same, keyed by the patches' external ids"
    )
    order: Literal["suspicion", "random", "id"] = "suspicion"
    seed: int = 0


class CampaignOut(BaseModel):
    """A campaign with its size and overall progress."""

    id: int
    name: str
    dataset_id: int
    dataset: str | None
    overlap: int
    order: str
    filter: dict
    active: bool
    created_at: str
    n_patches: int
    n_assignments: int
    done: int
    remaining: int


class AnnotatorProgress(BaseModel):
    """One annotator's progress in a campaign."""

    user_id: int
    annotator: str
    done: int
    remaining: int
    decisions: int = Field(description="decisions made (undos apart)")
    standing: int = Field(description="patches with a standing judgement")
    decisions_per_hour: float | None = Field(description="pauses over 30 min left out")
    last_decision_at: str | None


class CampaignProgress(CampaignOut):
    """A campaign with each annotator's progress."""

    annotators: list[AnnotatorProgress]


class PairAgreement(BaseModel):
    """Agreement of two annotators on the patches they both judged."""

    annotators: list[str]
    user_ids: list[int]
    n_patches: int
    observed_agreement: float | None
    cohen_kappa: float | None
    n_masks_compared: int
    mean_iou: float | None = Field(
        description="mean IoU of the masks they stand by, where one corrected"
    )


class DecisionAgreement(BaseModel):
    """Fleiss' kappa of one decision category."""

    decision: str
    n: int
    kappa: float | None


class ClassAgreement(BaseModel):
    """Share of agreeing annotator pairs on patches whose majority class is this one."""

    code: int
    name: str
    n_patches: int
    agreement: float


class AnnotatorQuality(BaseModel):
    """An annotator's accuracy on gold patches and time per decision."""

    user_id: int
    annotator: str
    n_decisions: int
    decisions: dict[str, int]
    n_gold: int
    n_gold_answered: int
    gold_accuracy: float | None
    median_time_s: float | None


class AgreementOut(BaseModel):
    """Every agreement figure of a campaign."""

    campaign_id: int
    categories: list[str]
    n_patches_multi: int = Field(description="patches judged by two annotators or more")
    pairs: list[PairAgreement]
    fleiss_kappa: float | None
    per_decision: list[DecisionAgreement]
    per_class: list[ClassAgreement]
    annotators: list[AnnotatorQuality]


class Disagreement(BaseModel):
    """A patch where annotators' decisions or masks differ."""

    patch_id: int
    external_id: str
    status: str
    reasons: list[Literal["decisions", "masks"]]
    decisions: dict[str, str]
    settled: bool
    settled_as: str | None


class AnnotatorVersion(BaseModel):
    """One annotator's standing judgement of a patch and the mask they stand by."""

    user_id: int
    annotator: str
    decision: str
    comment: str
    confidence: int | None
    time_spent_ms: int | None
    created_at: str
    revision_id: int | None = Field(description="their correction, or the revision they accepted")


class Settlement(BaseModel):
    """A reviewer's standing adjudication."""

    by: str | None
    decision: str
    comment: str
    revision_id: int | None


class VersionsOut(BaseModel):
    """The versions an adjudicator compares on one patch."""

    patch_id: int
    external_id: str
    status: str
    campaign_id: int | None
    dates: list[str]
    original_revision_id: int | None = Field(description="the revision the annotators judged")
    current_revision_id: int | None
    annotators: list[AnnotatorVersion]
    settled: Settlement | None


class AdjudicateIn(BaseModel):
    """The reviewer's settlement: keep one version (revision id) or reject the patch."""

    revision_id: int | None = None
    reject: bool = False
    comment: str = Field("", max_length=2000)
    campaign_id: int | None = None


class AdjudicateOut(BaseModel):
    """What the settlement recorded."""

    decision_id: int
    kind: str
    new_revision_id: int | None
    patch_status: str


class ExportIn(BaseModel):
    """What to export: one dataset or all, and which formats."""

    dataset: str | None = None
    formats: list[Literal["csv", "gpkg", "labels"]] = ["csv", "gpkg", "labels"]


class ExportOut(BaseModel):
    """A written export zip and where to download it."""

    name: str
    size: int
    url: str
