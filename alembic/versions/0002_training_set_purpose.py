"""training sets say what they were frozen for: labels, or a pre-training corpus

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 05:10:00

A corpus training set holds images whose labels nobody checked, so only a pre-training may
read it. Those frozen before this revision are the ones a job lists under
``corpus_training_set_ids``.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("training_sets", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purpose", sa.String(length=20), server_default="labels", nullable=False)
        )
    jobs = sa.table("jobs", sa.column("params", sa.JSON()))
    training_sets = sa.table("training_sets", sa.column("id", sa.Integer()), sa.column("purpose"))
    connection = op.get_bind()
    corpus = {
        int(i)
        for (params,) in connection.execute(sa.select(jobs.c.params))
        for i in (params or {}).get("corpus_training_set_ids") or []
    }
    if corpus:
        connection.execute(
            training_sets.update()
            .where(training_sets.c.id.in_(sorted(corpus)))
            .values(purpose="corpus")
        )


def downgrade() -> None:
    with op.batch_alter_table("training_sets", schema=None) as batch_op:
        batch_op.drop_column("purpose")
