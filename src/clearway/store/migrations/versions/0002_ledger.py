"""Trust ledger: per-consignment salts, the append-only leaf log and signed checkpoints.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "ledger_salts",
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
        sa.Column("salt", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "ledger_leaves",
        sa.Column("leaf_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(32), nullable=False, unique=True),
        sa.Column("consignment_id", sa.String(32), nullable=False),
        sa.Column("event", sa.Text, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_ledger_leaves_consignment", "ledger_leaves", ["consignment_id"])
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("root", sa.LargeBinary, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("ledger_checkpoints", "ledger_leaves", "ledger_salts"):
        op.drop_table(table)
