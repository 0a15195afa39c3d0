"""Each decision keeps the likelihood selectivity stated that an inspection would find an infringement.

The KPI report sets it beside what inspections found (`kpi.figures.calibration`): whether a stop said to be
70% likely finds something seven times in ten. Decisions stored before it have none.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.add_column("decisions", sa.Column("likelihood", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:  # SQLite rebuilds the table to drop a column
        batch.drop_column("likelihood")
