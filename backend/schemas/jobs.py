"""Job launch parameters per kind, validated before anything is written.

One pydantic model per job kind; ``extra="forbid"`` so a misspelt key is an error, not
a silently ignored setting. The ranges are the ones a person can sensibly ask for; the
trainers check the rest (ml.train.config, ml.rf_train).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import cache
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from backend.models.datasets import PatchStatus


def _multiple_of_8(value: int) -> int:
    if value % 8:
        raise ValueError("must be a multiple of 8")
    return value


Epochs = Annotated[int, Field(ge=1, le=1000)]
LearningRate = Annotated[float, Field(gt=0, le=1)]
BatchSize = Annotated[int, Field(ge=1, le=256)]
PatchSize = Annotated[int, Field(ge=16, le=256), AfterValidator(_multiple_of_8)]
LabelFraction = Annotated[float, Field(gt=0, le=1)]
ClassBalance = Annotated[float, Field(ge=0, le=1)]
CropBalance = Annotated[float, Field(ge=0, le=1)]
EmaDecay = Annotated[float, Field(ge=0, lt=1)]
MAX_SEED = 2**31 - 1
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]
Patience = Annotated[int, Field(ge=1, le=1000)]
"""Epochs without a better validation score before training stops; ≥ epochs: never early."""
MAX_SEEDS = 20
MAX_CORPUS_DATASETS = 50


def _seed_list(value: Any) -> Any:
    """Accept "0, 1, 2" (as typed in the form) as well as a JSON list of whole numbers."""
    if isinstance(value, str):
        tokens = value.replace(",", " ").split()
        if not all(t.isdigit() for t in tokens):
            raise ValueError("give whole numbers from 0 up, separated by commas, e.g. 0, 1, 2")
        return [int(t) for t in tokens]
    return value


def _distinct_seeds(seeds: list[int]) -> list[int]:
    if not seeds:
        raise ValueError("give at least one seed, e.g. 0, 1, 2")
    if len(seeds) > MAX_SEEDS:
        raise ValueError(f"at most {MAX_SEEDS} seeds at once, got {len(seeds)}")
    if any(not 0 <= s <= MAX_SEED for s in seeds):
        raise ValueError(f"seeds are whole numbers from 0 to {MAX_SEED}")
    if len(set(seeds)) != len(seeds):
        raise ValueError("a seed is given twice; each seed repeats the comparison once")
    return seeds


Seeds = Annotated[list[int], BeforeValidator(_seed_list), AfterValidator(_distinct_seeds)]


def _distinct(noun: str) -> AfterValidator:
    """At most MAX_CORPUS_DATASETS ids, none twice; ``noun`` names them in the message."""

    def check(ids: list[int]) -> list[int]:
        if len(ids) > MAX_CORPUS_DATASETS:
            raise ValueError(f"at most {MAX_CORPUS_DATASETS} {noun}s at once, got {len(ids)}")
        if len(set(ids)) != len(ids):
            raise ValueError(f"a {noun} is given twice")
        return ids

    return AfterValidator(check)


Device = Literal["auto", "cpu", "cuda"]
ModelSize = Literal["tiny", "small", "paper"]
EncoderNorm = Literal["group", "batch"]
Regime = Literal["scratch", "frozen", "finetune"]


class Source(BaseModel):
    """Which labels a job uses: an existing training set, or a new snapshot of a dataset."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=200)] | None = None
    dataset_id: int | None = None
    training_set_id: int | None = None
    statuses: list[PatchStatus] = [PatchStatus.accepted, PatchStatus.corrected]
    include_unreviewed: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Source:
        if (self.dataset_id is None) == (self.training_set_id is None):
            raise ValueError("give exactly one of dataset_id (a new snapshot) or training_set_id")
        return self


class TrainingParams(Source):
    """Settings shared by the U-BARN trainers."""

    model: ModelSize = "tiny"
    epochs: Epochs = 10
    lr: LearningRate = 1e-3
    batch_size: BatchSize | None = None
    """None: the model preset's (tiny and small: 8 crops of 16 px; paper: 2 of 64 px)."""
    patch_size: PatchSize | None = None
    patience: Patience | None = None
    """None: the preset's (tiny and small 5, paper 20). On a small validation split a plateau can be
    chance: as many as ``epochs`` never stops early (the best epoch is kept either way)."""
    seed: Seed = 0
    device: Device = "auto"
    mask_clouds: bool | None = None
    """Each pixel's attention reads its clear dates only (the cloud masks the forest's
    gap-filling reads); off: the paper's encoder, which reads every date, clouds included.
    None: the preset's (tiny and small on, paper off), or a fine-tuning's pre-training's."""
    encoder_norm: EncoderNorm | None = None
    """The spatial encoder's normalisation: "group", the paper's, per date crop; "batch",
    which keeps each date's absolute reflectance on small crops (``ml.models.ubarn_sse``).
    None: the preset's (tiny and small batch, paper group), or a fine-tuning's
    pre-training's."""


class SupervisedParams(BaseModel):
    """How a segmentation run learns from its labels: its crops, loss weights, averaged
    weights and decisions; shared by a fine-tuning job and a comparison's U-BARN runs."""

    class_balance: ClassBalance = 0.0
    """Loss weights (class frequency)^−class_balance: 0 plain, 1 as balanced as the RF."""
    crop_balance: CropBalance = 1.0
    """Crops around classes drawn ∝ (pixel count)^(1 − crop_balance): 1 every class as often
    (the best on the benchmark, with no loss weights), 0 uniform crops, as in the paper."""
    ema_decay: EmaDecay = 0.0
    """Validate, keep and map with a moving average of the weights, of this decay per step
    (0.99: about the last 100 steps; bias-corrected, so a shorter run averages the steps it
    took, not its first weights); 0: the trained weights, as in the paper."""
    logit_adjustment: bool = True
    """After training, trade the class prior the network learned from its crops for one
    between the patches' and a uniform one, by a strength chosen on the validation split
    (none when none helps), for test scores and maps; off: the paper's."""


class CorpusParams(BaseModel):
    """What a pre-training learns from besides the labelled dataset's train split."""

    corpus_dataset_ids: Annotated[list[int], _distinct("dataset")] = []
    """Other datasets (scenes, tiles, years) whose every patch, reviewed or not, joins the
    pre-training's train split: it reads images, never labels, so it can learn from far
    more than the annotators validated, as the paper pre-trains on a multi-tile corpus.
    Frozen into training sets at launch; they must have the labelled dataset's bands."""
    corpus_training_set_ids: Annotated[list[int], _distinct("training set")] = []
    """Corpora frozen by earlier launches, reused image for image: a pre-training to set
    beside an earlier one learns from the same images, whatever was ingested or rejected
    since."""


class PretrainParams(CorpusParams, TrainingParams):
    """U-BARN self-supervised pre-training (masked reconstruction)."""


class FinetuneParams(SupervisedParams, TrainingParams):
    """U-BARN segmentation: from scratch, or from a pre-training run frozen / fine-tuned."""

    regime: Regime = "scratch"
    label_fraction: LabelFraction = 1.0
    head_lr: LearningRate | None = None
    """Learning rate of the segmentation head; None: ``lr``. Frozen runs train only the head,
    which learns far faster at about 10× the fine-tuning rate."""
    head_warmup_epochs: Annotated[int, Field(ge=0, le=999)] = 0
    """Fine-tuned regime: epochs with the pre-trained encoder frozen while the head learns,
    then the whole network trains (LP-FT); 0: fine-tune everything from the start."""
    pretrained_run_id: int | None = None

    @model_validator(mode="after")
    def _pretrained_when_needed(self) -> FinetuneParams:
        if self.regime != "scratch" and self.pretrained_run_id is None:
            raise ValueError(f"regime {self.regime!r} needs pretrained_run_id")
        if self.regime == "scratch" and self.pretrained_run_id is not None:
            raise ValueError("regime 'scratch' trains from scratch: drop pretrained_run_id")
        return self

    @field_validator("head_warmup_epochs")
    @classmethod
    def _warmup_before_fine_tuning(cls, epochs: int, info: ValidationInfo) -> int:
        """Shown next to the warm-up field: it needs the fine-tuned regime and a remainder."""
        if epochs and info.data.get("regime") != "finetune":
            raise ValueError("applies to the fine-tuned regime only: set 0, or fine-tune")
        total = info.data.get("epochs")
        if total is not None and epochs >= total:
            raise ValueError(
                f"must be fewer than the epochs ({total}): after the warm-up the whole "
                "network trains"
            )
        return epochs


class RandomForestParams(Source):
    """The OSO Random Forest."""

    label_fraction: LabelFraction = 1.0
    seed: Seed = 0
    device: Device = "auto"


class EvaluateParams(Source):
    """Evaluate a finished run on the test split of a training set."""

    run_id: int
    device: Device = "auto"


class CompareParams(SupervisedParams, CorpusParams, Source):
    """A whole experiment: RF, U-BARN from scratch, pre-training + fine-tuning.

    ``seeds`` repeats it once per seed (replacing ``seed``), for the spread over seeds.
    """

    model: ModelSize = "tiny"
    label_fraction: LabelFraction = 1.0
    epochs: Epochs = 10
    pretrain_epochs: Epochs = 10
    lr: LearningRate = 1e-3
    batch_size: BatchSize | None = None
    patch_size: PatchSize | None = None
    patience: Patience | None = None
    seed: Seed = 0
    seeds: Seeds | None = None
    device: Device = "auto"
    mask_clouds: bool | None = None
    encoder_norm: EncoderNorm | None = None


class SelftestParams(BaseModel):
    """The worker health check: count steps with a checkpoint after each."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=200)] | None = None
    steps: Annotated[int, Field(ge=1, le=1000)] = 3
    step_s: Annotated[float, Field(ge=0, le=60)] = 0.0
    seed: Seed = 1
    fail_at: Annotated[int, Field(ge=0)] | None = None


class PredictMapParams(BaseModel):
    """Predict a dataset's whole scene with a finished U-BARN or RF run (ml.predict)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=200)] | None = None
    run_id: int
    scene_dataset_id: int
    block: Annotated[int, Field(ge=64, le=4096)] = 512
    device: Device = "auto"


PARAMS: dict[str, type[BaseModel]] = {
    "pretrain": PretrainParams,
    "finetune": FinetuneParams,
    "train_rf": RandomForestParams,
    "evaluate": EvaluateParams,
    "compare": CompareParams,
    "selftest": SelftestParams,
    "predict_map": PredictMapParams,
}

FORM_CHOICES: dict[str, dict[str, str]] = {
    "kind": {
        "finetune": "U-BARN segmentation (scratch / frozen / fine-tuned)",
        "pretrain": "U-BARN self-supervised pre-training",
        "train_rf": "OSO Random Forest",
        "evaluate": "Evaluate a run",
        "compare": "Full comparison (RF, scratch, pre-train + fine-tune)",
        "predict_map": "Predict a map of a dataset's scene",
    },
    "regime": {
        "scratch": "from scratch",
        "frozen": "pre-trained, frozen",
        "finetune": "pre-trained, fine-tuned",
    },
    "model": {size: size for size in get_args(ModelSize)},
    "mask_clouds": {
        "": "the preset's (tiny, small: clear dates only; paper: every date)",
        "true": "clear dates only",
        "false": "every date, clouds included (the paper's)",
    },
    "encoder_norm": {
        "": "the preset's (tiny, small: batch; paper: group)",
        "batch": "batch",
        "group": "group (the paper's)",
    },
    "device": {device: device for device in get_args(Device)},
}
"""Each menu of the launch form: value → what the menu says. The kinds are those the page
launches (the worker's self-test is launched from the API only); a test holds the kinds and
regimes to ``PARAMS`` and ``Regime``."""


@cache
def form_defaults() -> Mapping[str, Any]:
    """Each launch-form field's starting value, read from the kinds' models.

    The page shows the defaults the API applies, so a run launched without touching a
    field trains what the API would have trained; a field two kinds default differently
    would need its own input, so that is an error here rather than a silent choice.
    Read once, read-only: the models do not change while the server runs.
    """
    defaults: dict[str, Any] = {}
    for kind in FORM_CHOICES["kind"]:
        for name, field in PARAMS[kind].model_fields.items():
            if field.is_required() or field.default is None:
                continue
            if defaults.setdefault(name, field.default) != field.default:
                raise ValueError(f"{name!r} defaults to {defaults[name]!r} and {field.default!r}")
    return MappingProxyType(defaults)


class JobIn(BaseModel):
    """POST /api/v1/jobs: a kind and its parameters."""

    kind: str
    params: dict[str, Any] = {}


class JobOut(BaseModel):
    """A job as lists and pages show it."""

    id: int
    kind: str
    state: str
    params: dict[str, Any]
    progress: float
    message: str
    error: str | None
    attempts: int
    max_attempts: int
    cancel_requested: bool
    worker_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_s: float | None
    eta_s: float | None
    run_ids: list[int] = []


class JobEventOut(BaseModel):
    """One job event (progress, log line, metric point)."""

    id: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime
