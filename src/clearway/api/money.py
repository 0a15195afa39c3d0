"""Money after the decision over HTTP: what is owed (a submitter reads what is owed on what it filed, an
officer everything), payments recorded one by one or as a file (CSV, camt.053), deferred accounts and
guarantees with their monthly statements, appeals lodged by submitters and decided by officers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter, RawBody

from clearway.accounts.appeals import AppealState
from clearway.accounts.payments import PayableState, Payment
from clearway.api.views import PayableMade
from clearway.auth.clients import Principal
from clearway.errors import InvalidInput
from clearway.services import accounts
from clearway.services.clearance import InspectionFinding
from clearway.workers.runtime import Runtime

Reference = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Amount = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{1,12}(\.[0-9]{1,4})?$")]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")]
Month = Annotated[str, msgspec.Meta(pattern=r"^20[0-9]{2}-(0[1-9]|1[0-2])$")]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PayableView(msgspec.Struct, frozen=True):
    """One amount owed (negative: owed back), by whom, by when, how far paid, and why."""

    id: str
    consignment_id: str
    reference: str  # the consignment's reference, as its filer knows it
    kind: str  # assessment, demand, penalty, refund
    payer_role: str
    payer: str
    amount: Decimal
    paid: Decimal
    outstanding: Decimal
    currency: str
    collection_model: str
    due_on: dt.date
    state: str
    basis: str
    created_at: dt.datetime
    guaranteed_by: str | None = None
    origin: str | None = None


class PaymentRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    reference: Reference  # the payable's id, or the consignment's reference or tracking number
    amount: Amount
    currency: Currency
    paid_on: dt.date
    payer: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    # the bank's (or cashier's) id of the payment: sent again, the payment is recorded once
    bank_reference: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class Allocation(msgspec.Struct, frozen=True):
    payable_id: str
    amount: Decimal


class PaymentView(msgspec.Struct, frozen=True):
    """A payment, what it paid, and what no payable took (`unmatched`: an officer places it)."""

    id: str
    reference: str
    amount: Decimal
    currency: str
    paid_on: dt.date
    source: str
    unmatched: Decimal
    allocations: list[Allocation]
    recorded_at: dt.datetime
    payer: str | None = None
    bank_reference: str | None = None
    duplicate: bool = False  # a bank entry seen before: the first recording is answered


class FileProblem(msgspec.Struct, frozen=True):
    where: str
    message: str


class PaymentsImported(msgspec.Struct, frozen=True):
    recorded: int
    duplicates: int
    unmatched: list[PaymentView]
    problems: list[FileProblem]


class AccountRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    deferred: bool
    currency: Currency
    guarantee: Amount | None = None  # the guarantee's ceiling; none: no guarantee


class AccountView(msgspec.Struct, frozen=True):
    holder: str
    deferred: bool
    currency: str
    drawn: Decimal
    guarantee: Decimal | None = None
    headroom: Decimal | None = None


class StatementTotals(msgspec.Struct, frozen=True):
    owed: Decimal
    paid: Decimal
    outstanding: Decimal


class Statement(msgspec.Struct, frozen=True):
    holder: str
    month: str
    lines: list[PayableView]
    totals: dict[str, StatementTotals]  # by currency
    due_on: dt.date | None


class ArrangementLine(msgspec.Struct, frozen=True):
    member_state: str
    currency: str
    parcels: int
    vat_collected: Decimal
    not_delivered: int
    vat_not_delivered: Decimal
    vat_due: Decimal


class ArrangementsStatement(msgspec.Struct, frozen=True):
    holder: str
    month: str
    lines: list[ArrangementLine]
    basis: str


class AppealRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    grounds: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    payable_id: Annotated[str, msgspec.Meta(max_length=32)] | None = None  # a demand; none: the decision


class AppealDecision(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    kept: Amount | None = None  # partly annulled: what stands of the demand


class AppealView(msgspec.Struct, frozen=True):
    id: str
    consignment_id: str
    lodged_by: str
    lodged_at: dt.datetime
    grounds: str
    state: str  # lodged, under_review, upheld, annulled, partly_annulled
    review_by: dt.date
    payable_id: str | None = None
    kept: Decimal | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None


class RefundPaid(msgspec.Struct, frozen=True):
    payable_id: str
    state: str  # refunded


class TaxReferral(msgspec.Struct, frozen=True):
    """A scheme's VAT return that differs from what customs saw, kept for the tax agency."""

    id: str
    scheme_id: str
    period: str
    destination_country: str
    facts: dict[str, Any]  # the reconciliation line: status, consignments, expected and declared base and tax
    created_at: dt.datetime


class AuditItem(msgspec.Struct, frozen=True):
    id: str
    reference: str
    submitter: str
    channel: str
    destination_country: str
    released_at: dt.datetime
    why: str  # blue lane, or risk-ranked sample
    lane: str | None = None
    score: float | None = None


class AuditCaseRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    scope: Literal["ioss", "seller", "platform", "consignee"]
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]  # consignee: a consignment's id
    days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 365


class AuditCase(msgspec.Struct, frozen=True):
    id: str
    scope: str
    subject: str
    opened_by: str
    opened_at: dt.datetime
    state: str
    consignments: list[str]


class AuditFindingRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    outcome: Literal["compliant", "infringement"]
    findings: Annotated[list[InspectionFinding], msgspec.Meta(max_length=50)] = []
    case_id: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class AuditDone(msgspec.Struct, frozen=True):
    consignment_id: str
    audit: str
    outcome: str
    payables: list[PayableMade]


class MoneyController(Controller):
    path = "/v1"
    tags = ["money"]

    @get("/payables", sync_to_thread=True, summary="What is owed: on what you filed (an officer's: all)")
    def payables(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[Principal],
        consignment_id: FromQuery[str | None] = None, payer: FromQuery[str | None] = None,
        in_state: Annotated[PayableState | None, QueryParameter(name="state")] = None,
    ) -> list[PayableView]:  # fmt: skip
        found = accounts.payables_for(runtime.app, caller, consignment_id=consignment_id, payer=payer, state=in_state)
        return msgspec.convert(found, list[PayableView])

    @post("/payments", status_code=201, sync_to_thread=True, summary="Record a payment and match it")
    def pay(
        self, runtime: NamedDependency[Runtime], officer: NamedDependency[Principal], data: JSONBody[PaymentRequest]
    ) -> PaymentView:
        if not 2000 <= data.paid_on.year <= 2099:
            raise InvalidInput("the payment date is within 2000-2099")
        if Decimal(data.amount) <= 0:
            raise InvalidInput("a payment is of a positive amount")
        payment = Payment(data.reference, Decimal(data.amount), data.currency, data.paid_on, data.payer, "api",
                          data.bank_reference)  # fmt: skip
        return msgspec.convert(accounts.record_payment(runtime.app, officer, payment, _now()), PaymentView)

    @post("/payments/import", status_code=201, sync_to_thread=True,
          summary="Import a payment file: CSV (payer,reference,amount,currency,paid_on) or camt.053")  # fmt: skip
    def import_file(
        self, runtime: NamedDependency[Runtime], officer: NamedDependency[Principal], body: RawBody,
        format: FromQuery[Literal["csv", "camt053"]] = "csv",
    ) -> PaymentsImported:  # fmt: skip
        done = accounts.import_payments(runtime.app, officer, body, format, _now())
        return msgspec.convert(done, PaymentsImported)

    @post("/payables/{payable_id:str}/refund-paid", status_code=200, sync_to_thread=True,
          summary="Record that a refund owed back was paid out")  # fmt: skip
    def refund_paid(
        self, runtime: NamedDependency[Runtime], officer: NamedDependency[Principal], payable_id: FromPath[str]
    ) -> RefundPaid:
        return msgspec.convert(accounts.refund_paid(runtime.app, officer, payable_id, _now()), RefundPaid)

    @put("/accounts/{holder:str}", sync_to_thread=True, summary="Open or change a deferred account and guarantee")
    def set_account(
        self, runtime: NamedDependency[Runtime], officer: NamedDependency[Principal], holder: FromPath[str],
        data: JSONBody[AccountRequest],
    ) -> AccountView:  # fmt: skip
        ceiling = Decimal(data.guarantee) if data.guarantee is not None else None
        done = accounts.set_account(runtime.app, officer, holder, deferred=data.deferred, guarantee=ceiling,
                                    currency=data.currency, now=_now())  # fmt: skip
        return msgspec.convert(done, AccountView)

    @get("/accounts/{holder:str}", sync_to_thread=True, summary="A deferred account and its guarantee's headroom")
    def account(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[Principal], holder: FromPath[str]
    ) -> AccountView:
        accounts.holder_or_officer(caller, holder)
        return msgspec.convert(accounts.account(runtime.app, holder), AccountView)

    @get("/accounts/{holder:str}/statement", sync_to_thread=True, summary="A deferred account's monthly statement")
    def statement(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[Principal], holder: FromPath[str],
        month: FromQuery[Month],
    ) -> Statement:  # fmt: skip
        accounts.holder_or_officer(caller, holder)
        return msgspec.convert(accounts.statement(runtime.app, holder, month), Statement)

    @get("/accounts/{holder:str}/special-arrangements", sync_to_thread=True,
         summary="The EU special arrangements' monthly import VAT statement of a carrier or post")  # fmt: skip
    def arrangements(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[Principal], holder: FromPath[str],
        month: FromQuery[Month],
    ) -> ArrangementsStatement:  # fmt: skip
        accounts.holder_or_officer(caller, holder)
        return msgspec.convert(accounts.special_arrangements(runtime.app, holder, month), ArrangementsStatement)

    @post("/consignments/{consignment_id:str}/appeals", status_code=201, sync_to_thread=True,
          summary="Appeal against a decision or a demand on a consignment you filed")  # fmt: skip
    def lodge(
        self, runtime: NamedDependency[Runtime], submitter: NamedDependency[Principal],
        consignment_id: FromPath[str], data: JSONBody[AppealRequest],
    ) -> AppealView:  # fmt: skip
        done = accounts.lodge_appeal(runtime.app, submitter, consignment_id, data.payable_id, data.grounds, _now())
        return msgspec.convert(done, AppealView)

    @get("/appeals", sync_to_thread=True, summary="Your appeals (an officer's: all)")
    def appeals(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[Principal],
        in_state: Annotated[AppealState | None, QueryParameter(name="state")] = None,
    ) -> list[AppealView]:  # fmt: skip
        return msgspec.convert(accounts.appeals(runtime.app, caller, in_state), list[AppealView])

    @post("/officer/appeals/{appeal_id:str}/{action:str}", status_code=200, sync_to_thread=True,
          summary="Take an appeal under review (review), or decide it (upheld, annulled, partly_annulled)")  # fmt: skip
    def decide(
        self, runtime: NamedDependency[Runtime], officer: NamedDependency[Principal], appeal_id: FromPath[str],
        action: FromPath[str], data: JSONBody[AppealDecision],
    ) -> AppealView:  # fmt: skip
        kept = Decimal(data.kept) if data.kept is not None else None
        done = accounts.move_appeal(runtime.app, officer, appeal_id, action, _now(), kept_amount=kept, note=data.note)
        return msgspec.convert(done, AppealView)

    @get("/tax/referrals", sync_to_thread=True,
         summary="For the tax agency (role agency, agency tax): returns that differ from what customs saw")  # fmt: skip
    def tax_referrals(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[Principal],
        period: FromQuery[Month | None] = None,
    ) -> list[TaxReferral]:  # fmt: skip
        return msgspec.convert(accounts.tax_referrals(runtime.app, caller, period), list[TaxReferral])

    @get("/officer/audit-queue", sync_to_thread=True,
         summary="Released parcels for post-clearance audit: blue lane, then a risk-ranked sample")  # fmt: skip
    def audit_queue(
        self, runtime: NamedDependency[Runtime], officer: NamedDependency[Principal],
        sample: Annotated[int, QueryParameter(ge=0, le=10_000)] = 50,
    ) -> list[AuditItem]:  # fmt: skip
        return msgspec.convert(accounts.audit_queue(runtime.app, officer, sample), list[AuditItem])

    @post("/officer/audit-cases", status_code=201, sync_to_thread=True,
          summary="Open an audit case (IOSS number, seller, platform, consignee) gathering its parcels")  # fmt: skip
    def open_case(
        self, runtime: NamedDependency[Runtime], officer: NamedDependency[Principal], data: JSONBody[AuditCaseRequest]
    ) -> AuditCase:
        done = accounts.open_audit_case(runtime.app, officer, data.scope, data.subject, _now(), days=data.days)
        return msgspec.convert(done, AuditCase)

    @get("/officer/audit-cases/{case_id:str}", sync_to_thread=True, summary="An audit case and its parcels")
    def case(
        self, runtime: NamedDependency[Runtime], officer: NamedDependency[Principal], case_id: FromPath[str]
    ) -> AuditCase:
        return msgspec.convert(accounts.audit_case(runtime.app, officer, case_id), AuditCase)

    @post("/officer/consignments/{consignment_id:str}/audit", status_code=201, sync_to_thread=True,
          summary="What a post-clearance audit found on a released parcel (a demand or refund follows)")  # fmt: skip
    def audit(
        self, runtime: NamedDependency[Runtime], officer: NamedDependency[Principal], consignment_id: FromPath[str],
        data: JSONBody[AuditFindingRequest],
    ) -> AuditDone:  # fmt: skip
        done = accounts.audit_finding(runtime.app, officer, consignment_id, data.outcome, list(data.findings), _now(),
                                      data.case_id)  # fmt: skip
        return msgspec.convert(done, AuditDone)
