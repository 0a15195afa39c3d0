"""Dossiers: a filing of a parcel another filer filed first (a carrier after the platform, say) joins that
filing's dossier (`dossier_id`, the lead filing's id); the dossier has one decision and one assessment.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from clearway.store import online_index

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("consignments") as batch:
        batch.add_column(sa.Column("dossier_id", sa.String(32)))
    online_index.create_index("ix_consignments_dossier", "consignments", ["dossier_id"])


def downgrade() -> None:
    online_index.drop_index("ix_consignments_dossier", "consignments")
    with op.batch_alter_table("consignments") as batch:
        batch.drop_column("dossier_id")
