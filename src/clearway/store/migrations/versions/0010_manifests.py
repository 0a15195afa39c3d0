"""Manifests: masters (MAWB, CMR, CIM, UPU S8) with their houses, arrived together, and reconciled with the
advance data (houses that arrived without a filing); and room for the longer end statuses
(`full_declaration_required`).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "manifests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("submitter", sa.String(64), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("master_type", sa.String(8), nullable=False),
        sa.Column("master_id", sa.String(35), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expected_at", sa.DateTime(timezone=True)),
        sa.Column("arrived_at", sa.DateTime(timezone=True)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.UniqueConstraint("submitter", "reference", name="uq_manifests_submitter_reference"),
    )
    op.create_table(
        "manifest_houses",
        sa.Column("manifest_id", sa.String(32), sa.ForeignKey("manifests.id"), primary_key=True),
        sa.Column("transport_document_id", sa.String(35), primary_key=True),
        sa.Column("document_type", sa.String(16), nullable=False),
        sa.Column("receptacle", sa.String(29)),
        sa.Column("state", sa.String(24), nullable=False),
        sa.Column("arrived_at", sa.DateTime(timezone=True)),
        sa.Index("ix_manifest_houses_document", "transport_document_id"),
        sa.Index("ix_manifest_houses_state", "state"),
    )

    with op.batch_alter_table("consignments") as batch:
        batch.alter_column("status", type_=sa.String(32), existing_type=sa.String(24), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("consignments") as batch:
        batch.alter_column("status", type_=sa.String(24), existing_type=sa.String(32), existing_nullable=False)
    op.drop_table("manifest_houses")
    op.drop_table("manifests")
