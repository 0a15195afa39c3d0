"""The parties' record of offences in a table of its own (`store/offences.py`).

The record of a batch's parties was searched through every parcel they ever sent; it is now searched through
the party keys of the parcels ever seized or found infringing, marked when that is kept. The parcels already
seized or found infringing are marked here.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.create_table(
        "party_offences",
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
    )
    op.create_index("ix_party_offences_key", "party_offences", ["key"])
    # from the few parcels seized or found infringing to their parties (by the status index and the
    # inspections), not through every party key stored
    op.execute(
        "INSERT INTO party_offences (consignment_id, role, key) "
        "SELECT p.consignment_id, p.role, p.key FROM party_keys p WHERE p.consignment_id IN ("
        "SELECT id FROM consignments WHERE status = 'seized' "
        "UNION SELECT consignment_id FROM inspections WHERE outcome = 'infringement')"
    )


def downgrade() -> None:
    op.drop_index("ix_party_offences_key", table_name="party_offences")
    op.drop_table("party_offences")
