"""Hardening: consignments whose assessment failed are set aside with their error and retried; clients
and single tokens can be revoked; ledger leaves v2 seal customs-only facts under a second salt; decisions,
inspections, refunds and audit rows name the event (and so the ledger leaf) that committed them.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "assessment_failures",
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("ledger_salts") as batch:
        batch.add_column(sa.Column("seal_salt", sa.LargeBinary))
    with op.batch_alter_table("ledger_leaves") as batch:
        batch.add_column(sa.Column("sealed", sa.Text))
    for table in ("audit_log", "inspections", "refunds", "decisions"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("event_id", sa.String(32)))


def downgrade() -> None:
    for table in ("decisions", "refunds", "inspections", "audit_log"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("event_id")
    with op.batch_alter_table("ledger_leaves") as batch:
        batch.drop_column("sealed")
    with op.batch_alter_table("ledger_salts") as batch:
        batch.drop_column("seal_salt")
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("revoked_at")
    op.drop_table("revoked_tokens")
    op.drop_table("assessment_failures")
