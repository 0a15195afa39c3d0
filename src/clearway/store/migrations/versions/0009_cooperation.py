"""Cooperation between administrations: partners and their keys, risk alerts issued and received, and the
authorised-operator lists exchanged under mutual recognition.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("verifier", sa.Text, nullable=False),
        sa.Column("shared_key", sa.Text, nullable=False),
        sa.Column("agreement", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("client_id", sa.String(64)),
        sa.Column("client_secret", sa.Text),
        sa.Column("feedback", sa.Boolean, nullable=False),
        sa.Column("country", sa.String(2)),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "risk_alerts",
        sa.Column("direction", sa.String(3), primary_key=True),
        sa.Column("partner", sa.String(64), primary_key=True),
        sa.Column("alert_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("consignment_id", sa.String(32)),
        sa.Column("selected", sa.Integer),
        sa.Column("inspected", sa.Integer),
        sa.Column("found", sa.Integer),
        sa.Column("feedback_at", sa.DateTime(timezone=True)),
        sa.Index("ix_risk_alerts_expiry", "direction", "expires_at"),
    )
    op.create_table(
        "aeo_operators",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("operator", sa.String(120), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("programme", sa.String(20), nullable=False),
        sa.Column("issuing_country", sa.String(2), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("effective", sa.Date, nullable=False),
        sa.Column("valid_to", sa.Date, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("source", "operator", "status", "effective", name="uq_aeo_operator_status"),
    )


def downgrade() -> None:
    op.drop_table("aeo_operators")
    op.drop_table("risk_alerts")
    op.drop_table("partners")
