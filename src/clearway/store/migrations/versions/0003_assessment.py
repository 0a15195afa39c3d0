"""Decisions keep the revenue assessment (duty and taxes by line, totals, collection model, rules).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.add_column(sa.Column("assessment", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("assessment")
