"""A tiny checkpointing job: a health check of the worker, and the queue tests' workload.

It counts ``steps`` steps of ``step_s`` seconds, folding each step into a running value
(a linear congruential sequence seeded by ``seed``) and checkpointing after every step,
so that a run killed half-way and resumed ends with exactly the value of an
uninterrupted run. ``fail_at`` makes it raise at that step (to test failed jobs).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ml.context import JobContext

MODULUS = 2**31 - 1


def run(ctx: JobContext, *, snapshot: Path | None, config: dict[str, Any]) -> dict[str, Any]:
    """Count steps with a checkpoint after each; returns {"value", "steps", "resumed_at"}."""
    steps = int(config.get("steps", 3))
    step_s = float(config.get("step_s", 0.0))
    fail_at = config.get("fail_at")
    state_file = Path(ctx.checkpoint_dir) / "selftest.json"
    state = {"step": 0, "value": int(config.get("seed", 1)) % MODULUS or 1}
    if state_file.exists():
        state = json.loads(state_file.read_text())
    resumed_at = state["step"]
    for step in range(state["step"], steps):
        if ctx.should_stop():
            ctx.logger.info("selftest: stopping at step %d", step)
            return {"status": "cancelled", "steps": step}
        if fail_at is not None and step == int(fail_at):
            raise RuntimeError(f"selftest: asked to fail at step {step}")
        time.sleep(step_s)
        state = {"step": step + 1, "value": (state["value"] * 48271 + step) % MODULUS}
        tmp = state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(state_file)
        ctx.metric("value", state["value"] / MODULUS, step + 1)
        ctx.progress((step + 1) / steps, f"step {step + 1}/{steps}")
    result = {"value": state["value"], "steps": steps, "resumed_at": resumed_at}
    (Path(ctx.out_dir) / "results.json").write_text(json.dumps(result))
    ctx.logger.info("selftest: done, value %d", state["value"])
    return result
