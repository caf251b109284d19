"""The schema comes only from Alembic: up, down, up again, and it matches the models."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from backend.models import Base
from backend.services import migrations


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _diff(url: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(any_database: str) -> None:
    url = any_database
    assert _tables(url) == set(Base.metadata.tables)
    migrations.downgrade(url, "base")
    assert _tables(url) == set()
    migrations.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)


def test_migrations_match_the_models(any_database: str) -> None:
    assert _diff(any_database) == []


def test_corpora_frozen_before_0002_are_told_from_labels(any_database: str) -> None:
    """The training sets a job read as its pre-training corpus become corpora; the others
    stay labels, so no run reads unchecked labels after the upgrade."""
    url = any_database
    migrations.downgrade(url, "0001")
    now = datetime.now(UTC)
    rows = {
        "nomenclatures": [{"id": 901, "name": "a test's", "description": "", "builtin": False}],
        "datasets": [
            {"id": d, "name": f"scene {d}", "nomenclature_id": 901, "format": "geotiff",
             "bands": ["B4", "B8"], "created_at": now}
            for d in (1, 2)
        ],
        "training_sets": [
            {"id": t, "dataset_id": t, "name": f"set {t}", "file": f"snapshots/{t}.json",
             "n_patches": 3, "statuses": ["accepted"], "created_at": now}
            for t in (1, 2)
        ],
        "jobs": [
            {"kind": "pretrain", "state": "queued", "priority": 0, "attempts": 0,
             "max_attempts": 3, "cancel_requested": False, "progress": 0.0, "message": "",
             "created_at": now, "params": params}
            for params in ({"training_set_id": 1, "corpus_training_set_ids": [2]}, {})
        ],
    }  # fmt: skip
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for name, values in rows.items():
                table = sa.Table(name, sa.MetaData(), autoload_with=conn)
                conn.execute(table.insert(), values)
        migrations.upgrade(url)
        with engine.connect() as conn:
            purposes = conn.execute(sa.text("SELECT id, purpose FROM training_sets ORDER BY id"))
            assert purposes.all() == [(1, "labels"), (2, "corpus")]
    finally:
        engine.dispose()
