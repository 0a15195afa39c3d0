"""An index on when each consignment was received.

The write path reads by receipt time on every batch or every few minutes: the unit-value reference of
the undervaluation detector (the newest accepted bodies of the last 90 days), the day's decided and stopped
count that the inspection capacity is measured against, and the KPIs of a period. Without an index each of
those read every consignment ever stored: at 100,000 stored, the reference took about 0.9 s a read
(70 ms with the index), and the cost grew with the store, not with the window.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from clearway.store import online_index

revision = "0014"
down_revision = "0013"


def upgrade() -> None:
    online_index.create_index("ix_consignments_received", "consignments", ["received_at"])


def downgrade() -> None:
    online_index.drop_index("ix_consignments_received", "consignments")
