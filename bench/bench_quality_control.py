"""Quality-control figures at scale: campaign creation, progress, agreement, disagreements,
adjudication and export, for N tiny patches reviewed by 3 annotators with overlap 2.

Usage: python bench/bench_quality_control.py [--patches 2000] [--database-url URL]
Patches are 16x16 px with 3 dates (written through the real store); decisions are bulk
inserted (10 % corrections with real label files), so only the quality-control services
are timed. Prints one table.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from affine import Affine


def _populate(session, n: int, seed: int = 0) -> int:  # noqa: ANN001
    """A dataset of n patches with one ingest revision each; returns the dataset id."""
    from sqlalchemy import select

    from backend.config import get_settings
    from backend.models import Dataset, LabelRevision, Nomenclature, Patch
    from ml.data import store

    rng = np.random.default_rng(seed)
    settings = get_settings()
    legend = session.scalar(select(Nomenclature).where(Nomenclature.name == "oso-2018"))
    dataset = Dataset(
        name="bench", nomenclature_id=legend.id, format="geotiff", bands=list(store.S2_BANDS)
    )
    session.add(dataset)
    session.flush()
    dates = [date(2022, 1, 5) + timedelta(days=60 * t) for t in range(3)]
    for i in range(n):
        transform = Affine(10, 0, 300000 + 160 * (i % 100), 0, -10, 4800000 - 160 * (i // 100))
        lon, lat = 1.0 + 0.002 * (i % 100), 43.0 + 0.0015 * (i // 100)
        ring = [
            [lon, lat],
            [lon + 0.002, lat],
            [lon + 0.002, lat + 0.0015],
            [lon, lat + 0.0015],
            [lon, lat],
        ]
        patch = Patch(
            dataset_id=dataset.id,
            external_id=f"p{i:05d}",
            footprint={"type": "Polygon", "coordinates": [ring]},
            crs="EPSG:32631",
            bounds=[0, 0, 160, 160],
            height=16,
            width=16,
            dates=[d.isoformat() for d in dates],
            bands=list(store.S2_BANDS),
            suspicion=float(rng.random()),
            store_dir="",
        )
        session.add(patch)
        session.flush()
        patch.store_dir = f"patches/{patch.id}"
        series = rng.integers(200, 4000, (3, 10, 16, 16)).astype(np.int16)
        store.write_patch(
            settings.path(patch.store_dir),
            store.PatchData(
                series,
                np.zeros((3, 16, 16), np.uint8),
                dates,
                list(store.S2_BANDS),
                "EPSG:32631",
                transform,
            ),
        )
        file = f"labels/{patch.id}/1.tif"
        store.write_label(
            settings.path(file),
            rng.choice([11, 12, 13, 18], (16, 16)).astype(np.uint8),
            "EPSG:32631",
            transform,
        )
        session.add(LabelRevision(patch_id=patch.id, version=1, source="ingest", file=file))
    session.commit()
    return dataset.id


def _decide(session, campaign_id: int, seed: int = 1) -> int:  # noqa: ANN001
    """Every assignment decided (accept 70 %, reject 15 %, uncertain 5 %, correct 10 %)."""
    from sqlalchemy import insert, select, update

    from backend.config import get_settings
    from backend.models import Assignment, Decision, LabelRevision, Patch
    from backend.services.decisions import refresh_status
    from ml.data import store

    rng = np.random.default_rng(seed)
    settings = get_settings()
    rows = session.execute(
        select(Assignment.patch_id, Assignment.user_id).where(Assignment.campaign_id == campaign_id)
    ).all()
    now = datetime.now(UTC)
    revisions = {p: r for p, r in session.execute(select(LabelRevision.patch_id, LabelRevision.id))}
    decisions, version = [], {}
    for i, (patch_id, user_id) in enumerate(rows):
        kind = rng.choice(["accept", "reject", "uncertain", "correct"], p=[0.7, 0.15, 0.05, 0.1])
        new = None
        if kind == "correct":
            version[patch_id] = version.get(patch_id, 1) + 1
            file = f"labels/{patch_id}/{version[patch_id]}.tif"
            store.write_label(
                settings.path(file),
                rng.choice([11, 12, 13, 18], (16, 16)).astype(np.uint8),
                "EPSG:32631",
                Affine(10, 0, 0, 0, -10, 0),
            )
            revision = LabelRevision(
                patch_id=patch_id,
                version=version[patch_id],
                parent_id=revisions[patch_id],
                author_id=user_id,
                source="correction",
                file=file,
            )
            session.add(revision)
            session.flush()
            new = revision.id
        decisions.append(
            {
                "patch_id": patch_id,
                "user_id": user_id,
                "campaign_id": campaign_id,
                "kind": str(kind),
                "label_revision_id": revisions[patch_id],
                "new_revision_id": new,
                "time_spent_ms": int(rng.integers(2000, 20000)),
                "created_at": now + timedelta(seconds=10 * i),
                "comment": "",
            }
        )
    session.execute(insert(Decision), decisions)
    session.execute(
        update(Assignment).where(Assignment.campaign_id == campaign_id).values(done=True)
    )
    for patch in session.scalars(select(Patch)):
        refresh_status(session=session, patch=patch)
    session.commit()
    return len(decisions)


def _timed(table: list, name: str, fn):  # noqa: ANN001, ANN202
    start = time.perf_counter()
    result = fn()
    table.append((name, time.perf_counter() - start))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patches", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SITSLAB_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["SITSLAB_DATABASE_URL"] = args.database_url
        from sqlalchemy import select

        from backend.config import get_settings
        from backend.db import get_engine, get_sessionmaker
        from backend.models import Campaign, User
        from backend.services import adjudication, agreement, campaigns, export, migrations
        from backend.services.nomenclatures import seed_builtins
        from backend.services.users import create_user

        settings = get_settings()
        settings.data_dir.mkdir(parents=True)
        migrations.upgrade(settings.resolved_database_url)
        table: list[tuple[str, float]] = []
        with get_sessionmaker()() as session:
            seed_builtins(session=session)
            users = [
                create_user(session=session, username=f"a{i}", role="annotator", password="x" * 12)
                for i in range(3)
            ]
            reviewer = create_user(
                session=session, username="rev", role="reviewer", password="x" * 12
            )
            dataset_id = _populate(session, args.patches)
            campaign = _timed(
                table,
                "create campaign (overlap 2, 3 annotators)",
                lambda: campaigns.create_campaign(
                    session=session,
                    name="bench",
                    dataset_id=dataset_id,
                    overlap=2,
                    user_ids=[u.id for u in users],
                ),
            )
            n = _decide(session, campaign.id)
            campaign = session.scalar(select(Campaign))
            _timed(
                table,
                "progress per annotator",
                lambda: campaigns.campaign_progress(session=session, campaign=campaign),
            )
            report = _timed(
                table,
                "agreement report (first, reads label files)",
                lambda: agreement.campaign_agreement(session=session, campaign=campaign),
            )
            _timed(
                table,
                "agreement report (again, figures memoised)",
                lambda: agreement.campaign_agreement(session=session, campaign=campaign),
            )
            rows = _timed(
                table,
                "disagreements list",
                lambda: adjudication.disagreements(session=session, campaign=campaign),
            )
            reviewer = session.get(User, reviewer.id)
            _timed(
                table,
                "adjudicate one patch (reject)",
                lambda: adjudication.adjudicate(
                    session=session,
                    reviewer=reviewer,
                    patch_id=rows[0]["patch_id"],
                    revision_id=None,
                    reject=True,
                ),
            )
        for formats in (["csv"], ["gpkg"], ["labels"]):
            path = _timed(
                table,
                f"export {formats[0]}",
                lambda f=formats: export.export(formats=f, engine=get_engine()),
            )
            table.append((f"  zip size {formats[0]} (MiB)", path.stat().st_size / 2**20))
        backend = "PostgreSQL" if args.database_url.startswith("postgresql") else "SQLite"
        print(
            f"\n{args.patches} patches, {n} decisions, {len(rows)} disagreements, "
            f"Fleiss kappa {report['fleiss_kappa']:.3f} ({backend})\n"
        )
        print(f"{'step':45s} {'seconds':>10s}")
        for name, value in table:
            print(f"{name:45s} {value:10.3f}")


if __name__ == "__main__":
    main()
