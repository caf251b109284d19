"""The comparison table a finished comparison job wrote (``ml.experiment``), for its page.

The worker records each run of the comparison in the database; the table (McNemar's test
of each U-BARN run against the forest of the same seed) and, with several seeds, the mean
and spread over seeds exist only in the job's ``comparison.json``, read here.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.models import Job, Run


def job_comparison(*, session: Session, settings: Settings, job: Job) -> dict[str, Any] | None:
    """{"seeds", "table", "summary"} of a finished comparison job; None for other jobs.

    Each table row gains "run_id", the recorded run of the same name. A file written before
    comparisons took several seeds holds the table alone (a list).
    """
    if job.kind != "compare":
        return None
    path = settings.path(f"jobs/{job.id}/out/comparison.json")
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    if isinstance(data, list):
        data = {"seeds": [], "table": data, "summary": []}
    runs = session.execute(select(Run.name, Run.id).where(Run.job_id == job.id)).all()
    ids = {name: run_id for name, run_id in runs}
    for row in data["table"]:
        row["run_id"] = ids.get(row["run"])
    return data
