"""Initial schema: submissions, consignments and their versions, decisions, events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "submissions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("submitter", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("format", sa.String(16), nullable=False),
        sa.Column("line", sa.Integer),
        sa.Column("reference", sa.String(64)),
        sa.Column("accepted", sa.Boolean, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("consignment_id", sa.String(32)),
        sa.Column("errors", sa.Text, nullable=False),
        sa.Column("warnings", sa.Text, nullable=False),
        sa.Column("raw", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_submissions_submitter_received", "submissions", ["submitter", "received_at"])
    op.create_index("ix_submissions_reference", "submissions", ["submitter", "reference"])
    op.create_table(
        "consignments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("submitter", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("dispatch_country", sa.String(2), nullable=False),
        sa.Column("destination_country", sa.String(2), nullable=False),
        sa.Column("transport_document_id", sa.String(35), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("submitter", "reference", name="uq_consignments_submitter_reference"),
    )
    op.create_index("ix_consignments_status", "consignments", ["status"])
    op.create_index("ix_consignments_transport_document", "consignments", ["transport_document_id"])
    op.create_table(
        "consignment_versions",
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("submission_id", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("lane", sa.String(8), nullable=False),
        sa.Column("referrals", sa.Text, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_decisions_consignment", "decisions", ["consignment_id"])
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(32), nullable=False, unique=True),
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
    )
    op.create_index("ix_events_consignment", "events", ["consignment_id", "at"])


def downgrade() -> None:
    for table in ("events", "decisions", "consignment_versions", "consignments", "submissions"):
        op.drop_table(table)
