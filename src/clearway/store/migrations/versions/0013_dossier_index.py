"""The dossier index holds only filings that joined a dossier (`dossier_id IS NOT NULL`).

Nearly every filing has none: as a full index, SQLite's planner took `dossier_id IS NULL` for a selective
condition and, looking for a batch's dossier leads, walked every filing without a dossier instead of the
batch's transport documents (about 30 ms a lookup at 100,000 filings, growing with the store). Partial, it
is small, costs an insert nothing for most rows, and still serves lookups by dossier.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa

from clearway.store import online_index

revision = "0013"
down_revision = "0012"

JOINED = sa.text("dossier_id IS NOT NULL")


def upgrade() -> None:
    online_index.replace_index("ix_consignments_dossier", "consignments", ["dossier_id"], where=JOINED)


def downgrade() -> None:
    online_index.replace_index("ix_consignments_dossier", "consignments", ["dossier_id"])
