"""Refunds of duty and tax on returns (payments, or credits against a vendor scheme's return).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("scheme_id", sa.String(64)),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("duty", sa.Numeric(18, 4), nullable=False),
        sa.Column("vat", sa.Numeric(18, 4), nullable=False),
        sa.Column("total", sa.Numeric(18, 4), nullable=False),
        sa.Column("refund", sa.Text, nullable=False),
        sa.Column("refunded_on", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_refunds_consignment", "refunds", ["consignment_id"])


def downgrade() -> None:
    op.drop_table("refunds")
