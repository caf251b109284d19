"""Training configurations for U-BARN runs, and their validation.

Three presets: "tiny" (a small network on batches of 8 crops of 16×16 that trains in
seconds on a CPU, for tests and smoke runs; for the same pixels per step, many small
crops learn faster than few large ones, see bench/README.md), "small" (the same crops,
tiny's spatial encoder with the paper's temporal transformer) and "paper" (Dumeur et al.,
IEEE JSTARS 17, 2024: the published network, 64×64 crops, batch 2, Adam 1e-3,
ReduceLROnPlateau, early stopping with patience 20, up to 100+ epochs). A job's config
dict picks a preset with "model" and overrides any other key; unknown keys and bad values
are refused before anything is written.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from typing import Any

import torch

from ml.models.ubarn import MODEL_SIZES, UBarnConfig
from ml.models.ubarn_sse import ENCODER_NORMS

REGIMES = ("scratch", "frozen", "finetune")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a pre-training or fine-tuning run (saved in run.json)."""

    model: str = "tiny"
    epochs: int = 10
    lr: float = 1e-3
    batch_size: int = 2
    patch_size: int = 32
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    patience: int = 5
    """Epochs without improvement of the monitored score before stopping early."""
    lr_patience: int = 3
    """ReduceLROnPlateau patience, in epochs."""
    lr_factor: float = 0.5
    flips: bool = True
    min_date_fraction: float = 0.7
    epoch_crops: int | None = None
    """Training crops per epoch (drawn by class, or cycling through the labelled patches when
    ``crop_balance`` is 0); None: as many as the train split has patches, whatever the label
    fraction, so that an epoch (and the patiences, counted in epochs) is the same compute
    at 10 % and 100 % labels."""
    val_size: int | None = None
    """Side of the centred validation crops; None: ``patch_size``. Small training crops
    (many per batch learn faster on a CPU) would otherwise give a noisy validation score."""
    max_dates: int | None = None
    """Pad series to this many dates; None: the longest series of the snapshot."""
    reference_date: str | None = None
    """ISO origin of the date axis; None: 1 January of each series' year (day of year)."""
    mask_rate: float = 0.6
    """Pre-training only: fraction of valid pixel-dates corrupted."""
    regime: str = "scratch"
    """Fine-tuning only: "scratch", "frozen" (FR) or "finetune" (FT)."""
    pretrained: str | None = None
    """Fine-tuning only: out_dir of a pre-training run (needed by FR and FT)."""
    label_fraction: float = 1.0
    head_lr: float | None = None
    """Fine-tuning only: learning rate of the segmentation head (attention pooling and
    classifier); None: ``lr``. The head starts from random weights in every regime, and a
    frozen encoder (FR) leaves only the head to train: like the linear probes of
    self-supervised encoders, it needs larger steps than the encoder's fine-tuning does
    (bench/README.md: FR 30.8 mF1 at 1e-2 against 17.0 at 1e-3; FT unchanged)."""
    head_warmup_epochs: int = 0
    """Fine-tuned regime only: epochs during which the pre-trained encoder stays frozen (in
    eval mode) while the new head learns, before the whole network trains: linear probing
    then fine-tuning (LP-FT, Kumar et al., ICLR 2022), which keeps the pre-trained features
    from being distorted by a randomly initialised head's first gradients, the features that
    generalise to places the few labels do not cover. The warm-up neither lowers the
    learning rate nor counts towards early stopping. A frozen encoder's head learns faster
    with a larger ``head_lr`` (about 1e-2). 0: the paper's fine-tuning."""
    class_balance: float = 0.0
    """Fine-tuning only: class weights (frequency)^−class_balance in the loss; 0 (default):
    none, the class-centred crops (``crop_balance``) showing the rare classes instead."""
    crop_balance: float = 1.0
    """Fine-tuning only: place training crops around a pixel of a class drawn with
    probability ∝ (pixel count)^(1 − crop_balance): 1 shows every class equally often, as
    OSO's per-class sampling does for the forest; 0: the paper's uniform random crops. At
    the benchmark's 400 patches, 0.5 without loss weights beat uniform crops with loss
    weights in every run compared (+1.0 to +10.4 mF1), and 1 beat 0.5 on average at both
    label fractions, in both regimes and with either encoder normalisation (10 %,
    fine-tuned, seeds 3 to 5: +2.3 mF1; from scratch +2.2; 100 %, from scratch, three
    seeds: +1.2 and a third of the spread; bench/README.md), hence the default."""
    mask_clouds: bool = False
    """Mask each pixel's cloudy dates in the network's attention (``UBarnConfig.mask_clouds``),
    so that it reads the clear observations only, as the forest's gap-filling does from the
    same cloud masks. False: the paper's encoder, which reads every date, clouds included,
    and must learn to ignore them. The tiny and small presets set it (``PRESETS``); FR and
    FT runs that leave it unset take their pre-training's (``finetune.run``)."""
    encoder_norm: str = "group"
    """The spectro-spatial encoder's normalisation (``UBarnConfig.encoder_norm``): "group",
    the paper's GroupNorm, which normalises each date's crop over its own pixels, or
    "batch", BatchNorm, which keeps the date's absolute reflectance on crops no larger than
    a field. The tiny and small presets use "batch" (``PRESETS``); FR and FT runs that
    leave it unset take their pre-training's."""
    pixel_skip: bool = False
    """Add each pixel's own bands, projected, to the spatial encoder's output
    (``UBarnConfig.pixel_skip``), so that the temporal transformer reads the pixel's series
    unmixed with its neighbours'. False: the paper's network. FR and FT runs that leave it
    unset take their pre-training's."""
    ema_decay: float = 0.0
    """Validate, keep and predict with an exponential moving average of the weights, updated
    after every step with this decay (0.99: about the last 100 steps), rather than the
    weights where the last step happened to land. With a few labelled patches, validation
    picks the best of many noisy epochs, and the averaged weights move less between them
    (Polyak averaging; the "model EMA" of timm). The average is bias-corrected
    (``base.unbiased_ema``): while the steps taken are few against ``1 / (1 − decay)``, it
    averages those rather than leaning on the first one. It still trails the raw weights
    while they improve fast (a 15-epoch run of the benchmark: 49.3 mF1 against 50.1, and
    14.8 with torch's uncorrected average). 0: the raw weights, as in the paper."""
    logit_adjustment: bool = True
    """Fine-tuning only: after training, replace the class prior the network learned from
    its training crops by the patches' raised to ``1 − tau`` (0: the patches' prior, 1: a
    uniform one), ``tau`` chosen on the whole validation patches
    (``ml.train.logit_adjustment``; none when no strength beats the network's own
    decisions), for the test scores and the maps. False: the paper's argmax."""

    @property
    def network(self) -> UBarnConfig:
        """The network of this run: its model preset's sizes, masking clouds or not, with
        its encoder normalisation and pixel skip."""
        return replace(
            MODEL_SIZES[self.model],
            mask_clouds=self.mask_clouds,
            encoder_norm=self.encoder_norm,
            pixel_skip=self.pixel_skip,
        )

    @property
    def reference(self) -> date | None:
        """``reference_date`` as a date."""
        return date.fromisoformat(self.reference_date) if self.reference_date else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


_SMALL_CROPS = {
    "epochs": 10, "patch_size": 16, "batch_size": 8, "patience": 5,
    "mask_clouds": True, "encoder_norm": "batch",
}  # fmt: skip
"""The tiny and small presets: many small crops per step, each pixel's clear dates only,
and BatchNorm, which keeps each date's absolute reflectance on crops no larger than a
field. At the benchmark's 400 patches the two network settings are the recipe that beats
the forest at 10 % labels (eight seeds, fine-tuned +3.9 ± 3.3 mF1), and BatchNorm gains
3.4 ± 0.8 mF1 over GroupNorm at 100 % (bench/README.md). The paper preset keeps the
paper's network."""

PRESETS: dict[str, TrainConfig] = {
    "tiny": TrainConfig(model="tiny", **_SMALL_CROPS),
    "small": TrainConfig(model="small", **_SMALL_CROPS),
    "paper": TrainConfig(
        model="paper", epochs=120, patch_size=64, batch_size=2, patience=20, lr_patience=10
    ),
}


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,)}


def _check_types(config: dict[str, Any]) -> None:
    """Refuse values of the wrong type (JSON from a web form may send "10" for 10)."""
    for f in fields(TrainConfig):
        if f.name not in config:
            continue
        value, kind = config[f.name], str(f.type)
        if value is None and kind.endswith("| None"):
            continue
        base = kind.removesuffix(" | None")
        ok = (
            isinstance(value, bool)
            if base == "bool"
            else (isinstance(value, _TYPES[base]) and not isinstance(value, bool))
        )
        _check(ok, f"{f.name} must be of type {kind}, got {value!r}")


def resolve_config(config: dict[str, Any], stage: str) -> TrainConfig:
    """Preset of ``config["model"]`` (default "tiny") overridden by the other keys.

    Raises:
        ValueError: unknown key, unknown preset, or a value out of range.
    """
    config = dict(config)
    if "pretrained" in config and config["pretrained"] is not None:
        config["pretrained"] = str(config["pretrained"])
    size = config.get("model", "tiny")
    _check(size in PRESETS, f"model must be one of {sorted(PRESETS)}, got {size!r}")
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(config) - known)
    _check(not unknown, f"unknown config keys: {unknown}")
    _check_types(config)
    cfg = replace(PRESETS[size], **config)
    _check(cfg.epochs >= 1, "epochs must be at least 1")
    _check(cfg.lr > 0, "lr must be positive")
    _check(cfg.head_lr is None or cfg.head_lr > 0, "head_lr must be positive")
    _check(cfg.batch_size >= 1, "batch_size must be at least 1")
    multiple = 2 ** (len(cfg.network.encoder_widths) - 1)
    _check(
        cfg.patch_size >= multiple and cfg.patch_size % multiple == 0,
        f"patch_size must be a positive multiple of {multiple}, got {cfg.patch_size}",
    )
    _check(cfg.device in DEVICES, f"device must be one of {DEVICES}, got {cfg.device!r}")
    _check(
        cfg.device != "cuda" or torch.cuda.is_available(), "device 'cuda' asked but no GPU found"
    )
    _check(0.0 < cfg.min_date_fraction <= 1.0, "min_date_fraction must be in (0, 1]")
    _check(cfg.max_dates is None or cfg.max_dates >= 1, "max_dates must be positive")
    _check(cfg.epoch_crops is None or cfg.epoch_crops >= 1, "epoch_crops must be positive")
    _check(
        cfg.val_size is None or (cfg.val_size >= multiple and cfg.val_size % multiple == 0),
        f"val_size must be a positive multiple of {multiple}, got {cfg.val_size}",
    )
    _check(0.0 < cfg.mask_rate <= 1.0, "mask_rate must be in (0, 1]")
    _check(0.0 < cfg.label_fraction <= 1.0, "label_fraction must be in (0, 1]")
    _check(0.0 <= cfg.class_balance <= 1.0, "class_balance must be in [0, 1]")
    _check(0.0 <= cfg.crop_balance <= 1.0, "crop_balance must be in [0, 1]")
    _check(0.0 <= cfg.ema_decay < 1.0, "ema_decay must be in [0, 1)")
    _check(
        cfg.encoder_norm in ENCODER_NORMS,
        f"encoder_norm must be one of {ENCODER_NORMS}, got {cfg.encoder_norm!r}",
    )
    _check(cfg.regime in REGIMES, f"regime must be one of {REGIMES}, got {cfg.regime!r}")
    _check(
        0 <= cfg.head_warmup_epochs < cfg.epochs,
        f"head_warmup_epochs must be within 0..{cfg.epochs - 1} (fewer than epochs)",
    )
    _check(
        cfg.head_warmup_epochs == 0 or cfg.regime == "finetune",
        "head_warmup_epochs applies to the fine-tuned regime (regime 'finetune') only",
    )
    if cfg.reference_date is not None:
        try:
            date.fromisoformat(cfg.reference_date)
        except ValueError as error:
            raise ValueError(f"reference_date must be YYYY-MM-DD: {error}") from None
    if stage == "finetune":
        needs = cfg.regime in ("frozen", "finetune")
        _check(
            needs == (cfg.pretrained is not None),
            f"regime {cfg.regime!r} "
            + ("needs a pretrained run" if needs else "trains from scratch: drop 'pretrained'"),
        )
    return cfg


def resolve_device(name: str) -> torch.device:
    """ "auto" → CUDA when present, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast_dtype(device: torch.device, enabled: bool = True) -> torch.dtype | None:
    """Mixed-precision type on CUDA (bf16 where supported, else fp16); None on CPU."""
    if device.type != "cuda" or not enabled:
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
