"""Money after the decision: what each assessment makes owed (payables), payments and what they pay
(allocations), deferred accounts and guarantees, corrected assessments (reassessments), appeals, audit
cases and the tax agency's referrals.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.create_table(
        "payables",
        sa.Column("id", sa.String(32), primary_key=True),  # also the reference a payer may quote
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),  # assessment, demand, penalty, refund
        sa.Column("payer_role", sa.String(16), nullable=False),  # buyer, vendor, carrier, intermediary
        sa.Column("payer", sa.String(128), nullable=False),
        sa.Column("amount", sa.Numeric(18, 4), nullable=False),  # negative: owed back (a refund)
        sa.Column("paid", sa.Numeric(18, 4), nullable=False),  # what payments placed on it (paid out, for a refund)
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("collection_model", sa.String(32), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("basis", sa.Text, nullable=False),  # the rule and the terms, and the finding for a demand
        sa.Column("state", sa.String(16), nullable=False),  # open, part_paid, paid, overpaid, refund_due, ...
        sa.Column("guaranteed_by", sa.String(64)),  # the holder whose guarantee it draws on
        sa.Column("origin", sa.String(64)),  # what made it: inspection:<id>, audit:<id>, appeal:<id>
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Index("ix_payables_consignment", "consignment_id"),
        sa.Index("ix_payables_payer", "payer"),
        sa.Index("ix_payables_state", "state"),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("reference", sa.String(64), nullable=False),  # what the payer quoted
        sa.Column("payer", sa.String(128)),
        sa.Column("amount", sa.Numeric(18, 4), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),  # api, cli, csv, camt053
        sa.Column("bank_reference", sa.String(64)),  # the bank's id of the entry: a statement read twice pays once
        sa.Column("unmatched", sa.Numeric(18, 4), nullable=False),  # what no payable took
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("bank_reference", name="uq_payments_bank_reference"),
        sa.Index("ix_payments_reference", "reference"),
    )
    op.create_table(
        "allocations",
        sa.Column("payment_id", sa.String(32), sa.ForeignKey("payments.id"), primary_key=True),
        sa.Column("payable_id", sa.String(32), sa.ForeignKey("payables.id"), primary_key=True),
        sa.Column("amount", sa.Numeric(18, 4), nullable=False),
    )
    op.create_table(
        "accounts",
        sa.Column("holder", sa.String(128), primary_key=True),  # a carrier, post or intermediary (as it pays)
        sa.Column("deferred", sa.Boolean, nullable=False),  # pays monthly, by the terms' deferred day
        sa.Column("guarantee", sa.Numeric(18, 4)),  # the guarantee's ceiling, when it holds one
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "reassessments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),  # 2 for the first correction (the decision's is 1)
        sa.Column("assessment", sa.Text, nullable=False),
        sa.Column("origin", sa.String(64), nullable=False),  # inspection:<id>, audit:<id>, appeal:<id>
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id", sa.String(32)),
        sa.UniqueConstraint("consignment_id", "number", name="uq_reassessments_number"),
    )
    op.create_table(
        "appeals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
        sa.Column("payable_id", sa.String(32)),  # the demand appealed; none for a decision
        sa.Column("lodged_by", sa.String(64), nullable=False),
        sa.Column("lodged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grounds", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("review_by", sa.Date, nullable=False),  # the decision on it is due by
        sa.Column("kept", sa.Numeric(18, 4)),  # partly annulled: what stands of the demand
        sa.Column("decided_by", sa.String(64)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Index("ix_appeals_consignment", "consignment_id"),
    )
    op.create_table(
        "audit_cases",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("scope", sa.String(16), nullable=False),  # ioss, seller, platform, consignee
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),  # open, closed
        sa.Column("consignments", sa.Text, nullable=False),  # JSON list of the parcels it gathered
    )
    op.create_table(
        "tax_referrals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("scheme_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("destination_country", sa.String(2), nullable=False),
        sa.Column("facts", sa.Text, nullable=False),  # what was declared and what customs saw, as JSON
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("scheme_id", "period", "destination_country", name="uq_tax_referrals_line"),
    )


def downgrade() -> None:
    op.drop_table("tax_referrals")
    op.drop_table("audit_cases")
    op.drop_table("appeals")
    op.drop_table("reassessments")
    op.drop_table("accounts")
    op.drop_table("allocations")
    op.drop_table("payments")
    op.drop_table("payables")
