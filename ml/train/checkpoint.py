"""Training checkpoints: everything needed to continue a run as if it never stopped.

A worker may be killed, pre-empted or cancelled at any step; the job is then picked up
again (possibly on another machine) and must finish with the same weights as an
uninterrupted run. So a checkpoint holds the model, optimiser, scheduler and gradient
scaler states, the position (epoch and step within it), the early-stopping book-keeping,
the curves so far and torch's random generator states (dropout and U-BARN's corruption
draw from them). The data order and augmentations are pure functions of (seed, epoch,
index), so they need no saved state.

Files are written to a temporary name and renamed, so a crash while saving leaves the
previous checkpoint intact. They hold only tensors and plain Python values, so they load
with ``weights_only=True`` (no pickled code runs on resume).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

LAST = "last.pt"
BEST = "best.pt"


def save(path: Path, state: dict[str, Any]) -> None:
    """Write ``state`` atomically to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(path: Path) -> dict[str, Any] | None:
    """The saved state, or None when there is no checkpoint yet."""
    if not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


def rng_state() -> dict[str, Any]:
    """torch's CPU and CUDA generator states."""
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what ``rng_state`` saved (CUDA states only where CUDA is present)."""
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
