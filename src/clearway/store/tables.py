"""The tables: raw submissions, consignments with their versions, decisions and lifecycle events.

Datetimes are stored in UTC. SQLite keeps no offset, so readers treat naive values as UTC (`as_utc`).
A consignment's content lives once, in `consignment_versions`; `consignments.version` names the current one.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("submitter", sa.String(64), nullable=False),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("format", sa.String(16), nullable=False),
    sa.Column("line", sa.Integer),
    sa.Column("reference", sa.String(64)),
    sa.Column("accepted", sa.Boolean, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # registered, unchanged, amended, rejected
    sa.Column("consignment_id", sa.String(32)),
    sa.Column("errors", sa.Text, nullable=False),  # JSON list of findings
    sa.Column("warnings", sa.Text, nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),  # exactly what was sent
    sa.Index("ix_submissions_submitter_received", "submitter", "received_at"),
    sa.Index("ix_submissions_reference", "submitter", "reference"),
)

consignments = sa.Table(
    "consignments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # the registration id
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
    sa.Index("ix_consignments_status", "status"),
    sa.Index("ix_consignments_transport_document", "transport_document_id"),
)

consignment_versions = sa.Table(
    "consignment_versions",
    metadata,
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("submission_id", sa.String(32), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # canonical Consignment v1 JSON of this version
)

decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("lane", sa.String(8), nullable=False),
    sa.Column("referrals", sa.Text, nullable=False),  # JSON list
    sa.Column("reasons", sa.Text, nullable=False),  # JSON list of {source, code, message}
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("assessment", sa.Text),  # the duty and tax assessment as JSON, when the revenue stage ran
    sa.Index("ix_decisions_consignment", "consignment_id"),
)

EVENT_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only

events = sa.Table(
    "events",
    metadata,
    sa.Column("seq", EVENT_SEQ, primary_key=True, autoincrement=True),  # the order events were recorded in
    sa.Column("id", sa.String(32), nullable=False, unique=True),
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
    sa.Column("type", sa.String(32), nullable=False),  # registered, amended, assessed ...
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("ix_events_consignment", "consignment_id", "at"),
)

ledger_salts = sa.Table(
    "ledger_salts",
    metadata,
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
    sa.Column("salt", sa.LargeBinary, nullable=False),  # given to the parties of the consignment only
)

ledger_leaves = sa.Table(
    "ledger_leaves",
    metadata,
    sa.Column("leaf_index", sa.BigInteger, primary_key=True, autoincrement=False),  # dense, from 0, never rewritten
    sa.Column("event_id", sa.String(32), nullable=False, unique=True),
    sa.Column("consignment_id", sa.String(32), nullable=False),
    sa.Column("event", sa.Text, nullable=False),  # the canonical event the leaf commits to (no personal data)
    sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
    sa.Index("ix_ledger_leaves_consignment", "consignment_id"),
)

ledger_checkpoints = sa.Table(
    "ledger_checkpoints",
    metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("note", sa.Text, nullable=False),  # the signed checkpoint, as published
    sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
)

refunds = sa.Table(
    "refunds",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # payment, or vendor_credit against a scheme's return
    sa.Column("scheme_id", sa.String(64)),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("duty", sa.Numeric(18, 4), nullable=False),
    sa.Column("vat", sa.Numeric(18, 4), nullable=False),
    sa.Column("total", sa.Numeric(18, 4), nullable=False),
    sa.Column("refund", sa.Text, nullable=False),  # the whole refund, lines included, as JSON
    sa.Column("refunded_on", sa.Date, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Index("ix_refunds_consignment", "consignment_id"),
)
