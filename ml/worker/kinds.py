"""Job kinds and the ml function each one runs, as "module:function" strings.

Strings keep imports lazy (a worker does not load torch to run the Random Forest) and let
other packages add kinds: ``KINDS["predict_map"] = "ml.predict:run_job"``. Every function
has the trainers' signature ``fn(ctx, *, snapshot: Path | None, config: dict) -> dict``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

KINDS: dict[str, str] = {
    "pretrain": "ml.train.pretrain:run",
    "finetune": "ml.train.finetune:run",
    "train_rf": "ml.rf:train_run",
    "evaluate": "ml.evaluation:run",
    "compare": "ml.experiment:run",
    "selftest": "ml.worker.selftest:run",
    "predict_map": "ml.predict:run_job",
}


def resolve(kind: str) -> Callable[..., dict[str, Any]]:
    """The function that runs jobs of ``kind``; ValueError for an unknown kind."""
    try:
        target = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown job kind {kind!r}; known: {', '.join(sorted(KINDS))}") from None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)
