"""The transport document's index with the filer second.

Before each batch is stored, the filer's own filings of the batch's transport documents are read (a parcel
held under a control may not be filed afresh). SQLite's planner has no statistics: with the filer's unique
index (filer, reference) beside an index on the document alone, it searched every filing of the filer for
ten documents or more, so the check cost 5 ms a batch at 24,000 filings of one platform and kept growing
with its history. With the filer in the document's index it searches the documents. Lookups by document
alone (arrivals, dossiers, tracking) use the same index by its first column.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from clearway.store import online_index

revision = "0015"
down_revision = "0014"


def upgrade() -> None:
    online_index.replace_index("ix_consignments_transport_document", "consignments",
                               ["transport_document_id", "submitter"])  # fmt: skip


def downgrade() -> None:
    online_index.replace_index("ix_consignments_transport_document", "consignments", ["transport_document_id"])
