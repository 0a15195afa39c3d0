"""Export records from partner administrations, matched to imports by transport document id; and the
outbox cursors: how far along the event log each relay has published.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "export_records",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("transport_document_id", sa.String(35), nullable=False),
        sa.Column("exporting_country", sa.String(2), nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("value", sa.Numeric(18, 4), nullable=False),
        sa.Column("goods", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
        sa.Index("ix_export_records_transport_document", "transport_document_id"),
    )

    op.create_table(
        "outbox_cursors",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("outbox_cursors")
    op.drop_table("export_records")
