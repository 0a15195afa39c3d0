"""The service: API clients, idempotency keys, referrals, inspections, the officers' audit log, webhooks,
keyed party hashes (risk history that survives erasure), and lifecycle columns on consignments.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("consignments") as batch:
        batch.add_column(sa.Column("lane", sa.String(8)))
        batch.add_column(sa.Column("expected_arrival", TS))
        batch.add_column(sa.Column("released_at", TS))
        batch.add_column(sa.Column("erased_at", TS))
    op.create_table(
        "clients",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("agency", sa.String(64)),
        sa.Column("secret_hash", sa.Text, nullable=False),
        sa.Column("webhook_hosts", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("tenant", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("agency", sa.String(64)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("answered_at", TS),
        sa.Column("answer", sa.Text),
        sa.Column("closed_by", sa.String(64)),
    )
    op.create_index("ix_referrals_consignment", "referrals", ["consignment_id"])
    op.create_index("ix_referrals_agency_state", "referrals", ["agency", "state"])
    op.create_table(
        "inspections",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
        sa.Column("officer", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("scan_reference", sa.String(64)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("findings", sa.Text, nullable=False),
    )
    op.create_index("ix_inspections_consignment", "inspections", ["consignment_id"])
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("consignment_id", sa.String(32)),
        sa.Column("at", TS, nullable=False),
        sa.Column("before", sa.Text, nullable=False),
        sa.Column("after", sa.Text, nullable=False),
    )
    op.create_index("ix_audit_consignment", "audit_log", ["consignment_id"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(64), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("ix_webhooks_tenant", "webhooks", ["tenant"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("webhook_id", sa.String(32), sa.ForeignKey("webhooks.id"), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("delivered_at", TS),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["delivered_at", "next_attempt_at"])
    op.create_table(
        "party_keys",
        sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
    )
    op.create_index("ix_party_keys_key", "party_keys", ["key"])


def downgrade() -> None:
    for table in (
        "party_keys", "webhook_deliveries", "webhooks", "audit_log", "inspections", "referrals",
        "idempotency_keys", "clients",
    ):  # fmt: skip
        op.drop_table(table)
    with op.batch_alter_table("consignments") as batch:
        for column in ("erased_at", "released_at", "expected_arrival", "lane"):
            batch.drop_column(column)
