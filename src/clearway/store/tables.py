"""The tables: raw submissions, consignments with their versions, decisions and lifecycle events.

Datetimes are stored in UTC. SQLite keeps no offset, so readers treat naive values as UTC (`as_utc`).
A consignment's content lives once, in `consignment_versions`; `consignments.version` names the current one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()


class UtcDateTime(sa.TypeDecorator[dt.datetime]):
    """A point in time, bound in UTC: SQLite keeps no offset, so a time given with one (a platform's
    expected arrival at +02:00) would otherwise be kept as its wall-clock time and read back as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        return value.astimezone(dt.UTC) if value is not None and value.tzinfo is not None else value


submissions = sa.Table(
    "submissions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("submitter", sa.String(64), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
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
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("dispatch_country", sa.String(2), nullable=False),
    sa.Column("destination_country", sa.String(2), nullable=False),
    sa.Column("transport_document_id", sa.String(35), nullable=False),
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("lane", sa.String(8)),  # the lane of the latest decision (officers may re-route)
    sa.Column("expected_arrival", UtcDateTime()),  # from `arrival.expected_at`, for timeliness
    sa.Column("released_at", UtcDateTime()),  # retention counts from here
    sa.Column("erased_at", UtcDateTime()),  # when the retention job erased its personal data
    sa.Column("dossier_id", sa.String(32)),  # the lead filing of the parcel, when another filer filed it first
    sa.UniqueConstraint("submitter", "reference", name="uq_consignments_submitter_reference"),
    sa.Index("ix_consignments_status", "status"),
    # the filer second: a filer's own filings of a batch's documents are searched by document, never by every
    # filing of the filer (`dossiers.FILINGS_OF`)
    sa.Index("ix_consignments_transport_document", "transport_document_id", "submitter"),
    sa.Index("ix_consignments_received", "received_at"),  # the unit-value reference, the day's count, periods
    # partial: only filings that joined a dossier, so `dossier_id IS NULL` (nearly every row) is not taken
    # for a selective condition by the planner, and most rows add no entry to it
    sa.Index(
        "ix_consignments_dossier",
        "dossier_id",
        sqlite_where=sa.text("dossier_id IS NOT NULL"),
        postgresql_where=sa.text("dossier_id IS NOT NULL"),
    ),
)

consignment_versions = sa.Table(
    "consignment_versions",
    metadata,
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("submission_id", sa.String(32), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
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
    sa.Column("decided_at", UtcDateTime(), nullable=False),
    sa.Column("assessment", sa.Text),  # the duty and tax assessment as JSON, when the revenue stage ran
    sa.Column("event_id", sa.String(32)),  # the `assessed` event that committed the lane to the ledger
    sa.Column("likelihood", sa.Float),  # selectivity's, that an inspection finds an infringement (null: not stated)
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
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Index("ix_events_consignment", "consignment_id", "at"),
)

ledger_salts = sa.Table(
    "ledger_salts",
    metadata,
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
    sa.Column("salt", sa.LargeBinary, nullable=False),  # given to the parties of the consignment only
    sa.Column("seal_salt", sa.LargeBinary),  # hides customs-only facts (leaf v2): officers and auditors only
)

ledger_leaves = sa.Table(
    "ledger_leaves",
    metadata,
    sa.Column("leaf_index", sa.BigInteger, primary_key=True, autoincrement=False),  # dense, from 0, never rewritten
    sa.Column("event_id", sa.String(32), nullable=False, unique=True),
    sa.Column("consignment_id", sa.String(32), nullable=False),
    sa.Column("event", sa.Text, nullable=False),  # the canonical event the leaf commits to (no personal data)
    sa.Column("sealed", sa.Text),  # leaf v2: the customs-only facts whose salted hash `event` carries
    sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
    sa.Index("ix_ledger_leaves_consignment", "consignment_id"),
)

ledger_checkpoints = sa.Table(
    "ledger_checkpoints",
    metadata,
    sa.Column("size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root", sa.LargeBinary, nullable=False),
    sa.Column("note", sa.Text, nullable=False),  # the signed checkpoint, as published
    sa.Column("signed_at", UtcDateTime(), nullable=False),
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
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("event_id", sa.String(32)),  # the `refunded` event that committed it to the ledger
    sa.Index("ix_refunds_consignment", "consignment_id"),
)

# --- the service: clients, idempotency, referrals, inspections, audit, webhooks, party keys (0005) ---

clients = sa.Table(
    "clients",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # the OAuth2 client_id
    sa.Column("name", sa.String(64), nullable=False, unique=True),  # the tenant, for submitter roles
    sa.Column("role", sa.String(16), nullable=False),  # platform, carrier, postal, officer, agency
    sa.Column("agency", sa.String(64)),  # for the agency role: whose referrals it sees
    sa.Column("secret_hash", sa.Text, nullable=False),  # scrypt, salted; the secret itself is never kept
    sa.Column("webhook_hosts", sa.Text, nullable=False),  # JSON list of hosts the client's webhooks may call
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("revoked_at", UtcDateTime()),  # `clients revoke`: its tokens stop working from then
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("tenant", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", sa.Text, nullable=False),  # the answer given, given again on a retry
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

referrals = sa.Table(
    "referrals",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # rfi, screening, dnl, oga
    sa.Column("agency", sa.String(64)),  # for oga: the agency it is referred to
    sa.Column("state", sa.String(16), nullable=False),  # open, answered, closed
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("answered_at", UtcDateTime()),
    sa.Column("answer", sa.Text),  # the submitter's answer or the agency's decision, as JSON
    sa.Column("closed_by", sa.String(64)),
    sa.Index("ix_referrals_consignment", "consignment_id"),
    sa.Index("ix_referrals_agency_state", "agency", "state"),
)

inspections = sa.Table(
    "inspections",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
    sa.Column("officer", sa.String(64), nullable=False),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("method", sa.String(16), nullable=False),  # physical, non_intrusive
    sa.Column("scan_reference", sa.String(64)),
    sa.Column("outcome", sa.String(16), nullable=False),  # compliant, infringement
    sa.Column("findings", sa.Text, nullable=False),  # JSON list of {kind, ...}: the model's labels
    sa.Column("event_id", sa.String(32)),  # the `inspected` event that committed it to the ledger
    sa.Index("ix_inspections_consignment", "consignment_id"),
)

AUDIT_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("seq", AUDIT_SEQ, primary_key=True, autoincrement=True),
    sa.Column("actor", sa.String(64), nullable=False),  # the client (officer, agency) that acted
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("consignment_id", sa.String(32)),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("before", sa.Text, nullable=False),  # JSON: the state the action found
    sa.Column("after", sa.Text, nullable=False),  # JSON: the state it left
    sa.Column("event_id", sa.String(32)),  # the event (and so the ledger leaf) the action recorded
    sa.Index("ix_audit_consignment", "consignment_id"),
)

webhooks = sa.Table(
    "webhooks",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("tenant", sa.String(64), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("secret", sa.String(64), nullable=False),  # the HMAC key, shown once at subscription
    sa.Column("events", sa.Text, nullable=False),  # JSON list of event types, empty for all
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Index("ix_webhooks_tenant", "tenant"),
)

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("webhook_id", sa.String(32), sa.ForeignKey("webhooks.id"), nullable=False),
    sa.Column("payload", sa.Text, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("delivered_at", UtcDateTime()),
    sa.Column("last_error", sa.Text),
    sa.Index("ix_webhook_deliveries_due", "delivered_at", "next_attempt_at"),
)

party_keys = sa.Table(
    "party_keys",
    metadata,
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
    sa.Column("role", sa.String(16), primary_key=True),  # seller, consignor, consignee, delivery_address
    sa.Column("key", sa.String(64), nullable=False),  # keyed hash of the normalised name and address
    sa.Index("ix_party_keys_key", "key"),
)

party_offences = sa.Table(
    "party_offences",
    metadata,  # the party keys of parcels ever seized or found infringing (store/offences.py)
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
    sa.Column("role", sa.String(16), primary_key=True),
    sa.Column("key", sa.String(64), nullable=False),
    sa.Index("ix_party_offences_key", "key"),
)

config_versions = sa.Table(
    "config_versions",
    metadata,
    sa.Column("kind", sa.String(32), primary_key=True),  # profiles, selectivity
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("text", sa.Text, nullable=False),  # the document as the officer wrote it
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

export_records = sa.Table(
    "export_records",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("transport_document_id", sa.String(35), nullable=False),  # matched to the import's
    sa.Column("exporting_country", sa.String(2), nullable=False),
    sa.Column("partner", sa.String(64), nullable=False),  # the administration that sent it
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("value", sa.Numeric(18, 4), nullable=False),  # the declared value at export
    sa.Column("goods", sa.Text, nullable=False),  # JSON list of {description, hs_code, quantity, value}
    sa.Column("source", sa.String(16), nullable=False),  # csv, wco-dms
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("raw", sa.LargeBinary, nullable=False),  # the record as the partner sent it
    sa.Index("ix_export_records_transport_document", "transport_document_id"),
)

outbox_cursors = sa.Table(
    "outbox_cursors",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),  # the relay, e.g. the decisions topic it feeds
    sa.Column("seq", sa.BigInteger, nullable=False),  # the last event (events.seq) it published
)

assessment_failures = sa.Table(
    "assessment_failures",
    metadata,
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),  # the version that could not be assessed
    sa.Column("error", sa.Text, nullable=False),  # what failed, for officers (never shown to submitters)
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("first_failed_at", UtcDateTime(), nullable=False),
    sa.Column("last_failed_at", UtcDateTime(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),  # back-off: 30 s doubling, 1 h at most
)

revoked_tokens = sa.Table(
    "revoked_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),  # the token's id: a signed-out session
    sa.Column("expires_at", UtcDateTime(), nullable=False),  # forgotten after the token expires
)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),  # how this office names the partner administration
    sa.Column("verifier", sa.Text, nullable=False),  # its signed-note verifier key: bundles it signs
    sa.Column("shared_key", sa.Text, nullable=False),  # base64: the key parties are hashed under, shared with it
    sa.Column("agreement", sa.Text, nullable=False),  # the legal basis of the exchange (cited in every bundle)
    sa.Column("url", sa.Text),  # its clearway API, to pull its alerts from
    sa.Column("client_id", sa.String(64)),  # the credentials it gave this office there
    sa.Column("client_secret", sa.Text),
    sa.Column("feedback", sa.Boolean, nullable=False),  # tell it when its alerts lead to findings here
    sa.Column("country", sa.String(2)),  # whose authorised operators its lists may carry (EU: the Union's)
    sa.Column("registered_at", UtcDateTime(), nullable=False),
)

risk_alerts = sa.Table(
    "risk_alerts",
    metadata,
    sa.Column("direction", sa.String(3), primary_key=True),  # out: issued here; in: received from the partner
    sa.Column("partner", sa.String(64), primary_key=True),  # sent to, or received from
    sa.Column("alert_id", sa.String(64), primary_key=True),  # the issuer's id
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the RiskAlert as JSON, as signed
    sa.Column("issued_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("recorded_at", UtcDateTime(), nullable=False),  # issued, or loaded, here
    sa.Column("actor", sa.String(64), nullable=False),  # who issued or loaded it
    sa.Column("consignment_id", sa.String(32)),  # out: the consignment it came from (never sent)
    sa.Column("selected", sa.Integer),  # out: what the partner's feedback reports
    sa.Column("inspected", sa.Integer),
    sa.Column("found", sa.Integer),
    sa.Column("feedback_at", UtcDateTime()),
    sa.Index("ix_risk_alerts_expiry", "direction", "expires_at"),
)

aeo_operators = sa.Table(
    "aeo_operators",
    metadata,
    sa.Column("seq", AUDIT_SEQ, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(64), nullable=False),  # own, or the partner whose list it came from
    sa.Column("operator", sa.String(120), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("address", sa.String(300), nullable=False),
    sa.Column("programme", sa.String(20), nullable=False),
    sa.Column("issuing_country", sa.String(2), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # authorised, suspended, revoked
    sa.Column("effective", sa.Date, nullable=False),
    sa.Column("valid_to", sa.Date, nullable=False),
    sa.Column("loaded_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("source", "operator", "status", "effective", name="uq_aeo_operator_status"),
)

manifests = sa.Table(
    "manifests",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("submitter", sa.String(64), nullable=False),  # the carrier or post that filed it
    sa.Column("reference", sa.String(64), nullable=False),  # the filer's own, unique per filer
    sa.Column("version", sa.Integer, nullable=False),  # 1, then one more per amendment
    sa.Column("master_type", sa.String(8), nullable=False),  # mawb, cmr, cim, s8
    sa.Column("master_id", sa.String(35), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the manifest's canonical JSON, as last filed
    sa.Column("received_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("expected_at", UtcDateTime()),  # declared arrival
    sa.Column("arrived_at", UtcDateTime()),  # the last arrival recorded on it
    sa.Column("state", sa.String(16), nullable=False),  # filed, partly_arrived, arrived
    sa.UniqueConstraint("submitter", "reference", name="uq_manifests_submitter_reference"),
)

manifest_houses = sa.Table(
    "manifest_houses",
    metadata,
    sa.Column("manifest_id", sa.String(32), sa.ForeignKey("manifests.id"), primary_key=True),
    sa.Column("transport_document_id", sa.String(35), primary_key=True),
    sa.Column("document_type", sa.String(16), nullable=False),
    sa.Column("receptacle", sa.String(29)),  # S9, for an item in a UPU despatch
    sa.Column("state", sa.String(24), nullable=False),  # expected, arrived, arrived_without_data
    sa.Column("arrived_at", UtcDateTime()),
    sa.Index("ix_manifest_houses_document", "transport_document_id"),
    sa.Index("ix_manifest_houses_state", "state"),
)

# --- money after the decision: payables, payments, accounts, reassessments, appeals, audits (0012) ---

payables = sa.Table(
    "payables",
    metadata,
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
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Index("ix_payables_consignment", "consignment_id"),
    sa.Index("ix_payables_payer", "payer"),
    sa.Index("ix_payables_state", "state"),
)

payments = sa.Table(
    "payments",
    metadata,
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
    sa.Column("recorded_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("bank_reference", name="uq_payments_bank_reference"),
    sa.Index("ix_payments_reference", "reference"),
)

allocations = sa.Table(
    "allocations",
    metadata,
    sa.Column("payment_id", sa.String(32), sa.ForeignKey("payments.id"), primary_key=True),
    sa.Column("payable_id", sa.String(32), sa.ForeignKey("payables.id"), primary_key=True),
    sa.Column("amount", sa.Numeric(18, 4), nullable=False),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("holder", sa.String(128), primary_key=True),  # a carrier, post or intermediary (as it pays)
    sa.Column("deferred", sa.Boolean, nullable=False),  # pays monthly, by the terms' deferred day
    sa.Column("guarantee", sa.Numeric(18, 4)),  # the guarantee's ceiling, when it holds one
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

reassessments = sa.Table(
    "reassessments",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),  # 2 for the first correction (the decision's is 1)
    sa.Column("assessment", sa.Text, nullable=False),
    sa.Column("origin", sa.String(64), nullable=False),  # inspection:<id>, audit:<id>, appeal:<id>
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("event_id", sa.String(32)),
    sa.UniqueConstraint("consignment_id", "number", name="uq_reassessments_number"),
)

appeals = sa.Table(
    "appeals",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("consignment_id", sa.String(32), sa.ForeignKey("consignments.id"), nullable=False),
    sa.Column("payable_id", sa.String(32)),  # the demand appealed; none for a decision
    sa.Column("lodged_by", sa.String(64), nullable=False),
    sa.Column("lodged_at", UtcDateTime(), nullable=False),
    sa.Column("grounds", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("review_by", sa.Date, nullable=False),  # the decision on it is due by
    sa.Column("kept", sa.Numeric(18, 4)),  # partly annulled: what stands of the demand
    sa.Column("decided_by", sa.String(64)),
    sa.Column("decided_at", UtcDateTime()),
    sa.Index("ix_appeals_consignment", "consignment_id"),
)

audit_cases = sa.Table(
    "audit_cases",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("scope", sa.String(16), nullable=False),  # ioss, seller, platform, consignee
    sa.Column("subject", sa.String(128), nullable=False),
    sa.Column("opened_by", sa.String(64), nullable=False),
    sa.Column("opened_at", UtcDateTime(), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # open, closed
    sa.Column("consignments", sa.Text, nullable=False),  # JSON list of the parcels it gathered
)

tax_referrals = sa.Table(
    "tax_referrals",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("scheme_id", sa.String(64), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("destination_country", sa.String(2), nullable=False),
    sa.Column("facts", sa.Text, nullable=False),  # what was declared and what customs saw, as JSON
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("scheme_id", "period", "destination_country", name="uq_tax_referrals_line"),
)
