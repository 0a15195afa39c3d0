"""Payment files in: a CSV statement (`payer,reference,amount,currency,paid_on`) and ISO 20022 camt.053
bank-to-customer statements, read with pycamt (entities off, no network). Every row is checked; a bad one
is reported with its line (or entry) and what is wrong, and the good ones still count. Credits only: a
debit entry on customs' account is not a payment to it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

import msgspec
from lxml import etree
from pycamt.parser import Camt053ParseError, Camt053Parser

from clearway.accounts.payments import Payment
from clearway.errors import InvalidInput
from clearway.model.bounds import storable

PAYMENT_COLUMNS = ["payer", "reference", "amount", "currency", "paid_on"]
MAX_FILE = 20 * 1024 * 1024


class PaymentProblem(msgspec.Struct, frozen=True):
    where: str  # "line 3", "entry 2"
    message: str


def _payment(payer: str | None, reference: str | None, amount: str | None, currency: str | None,
             paid_on: str | None, source: str, bank_reference: str | None = None) -> Payment:  # fmt: skip
    reference = (reference or "").strip()
    if not reference or len(reference) > 64 or not storable(reference):
        raise ValueError("the reference is 1 to 64 characters (the payable's id, or the parcel's reference)")
    try:
        value = Decimal((amount or "").strip())
    except InvalidOperation as exc:
        raise ValueError(f"the amount {amount!r} is not a decimal number") from exc
    if not value.is_finite() or value <= 0 or value >= Decimal("1e12") or value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise ValueError(f"the amount {amount!r} is a positive number below 10^12 with at most 4 decimals")
    code = (currency or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValueError(f"the currency {currency!r} is a three-letter ISO 4217 code")
    try:
        day = dt.date.fromisoformat((paid_on or "").strip()[:10])
    except ValueError as exc:
        raise ValueError(f"the date {paid_on!r} is YYYY-MM-DD") from exc
    if not 2000 <= day.year <= 2099:
        raise ValueError(f"the date {day} is outside 2000-2099")
    who = (payer or "").strip() or None
    if who is not None and (len(who) > 128 or not storable(who)):
        raise ValueError("the payer is at most 128 characters")
    bank = (bank_reference or "").strip() or None
    if bank is not None and (len(bank) > 64 or not storable(bank)):
        raise ValueError("the bank's entry reference is at most 64 characters")
    return Payment(reference, value, code, day, who, source, bank)  # type: ignore[arg-type]


def read_csv(data: bytes) -> tuple[list[Payment], list[PaymentProblem]]:
    """A CSV statement with the header `payer,reference,amount,currency,paid_on`."""
    text = _text(data)
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    if header != PAYMENT_COLUMNS:
        raise InvalidInput(f"the first line must be the header {','.join(PAYMENT_COLUMNS)}, not {','.join(header)!r}")
    payments, problems = [], []
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(PAYMENT_COLUMNS):
            problems.append(PaymentProblem(f"line {number}", f"{len(row)} columns, {len(PAYMENT_COLUMNS)} expected"))
            continue
        try:
            payments.append(_payment(*row, source="csv"))
        except ValueError as exc:
            problems.append(PaymentProblem(f"line {number}", str(exc)))
    return payments, problems


def read_camt053(data: bytes) -> tuple[list[Payment], list[PaymentProblem]]:
    """The credit entries of a camt.053 statement (any version pycamt reads): the remittance information
    (structured creditor reference, else the unstructured text's first word) is the reference, the debtor
    the payer, the booking (or value) date the day paid, the bank's entry reference its id."""
    if len(data) > MAX_FILE:
        raise InvalidInput(f"a statement is at most {MAX_FILE // (1024 * 1024)} MiB")
    try:
        entries = Camt053Parser(data).get_transactions()
    except (etree.XMLSyntaxError, Camt053ParseError, ValueError, AttributeError, TypeError) as exc:
        why = str(exc) or "its structure is not a camt.053 statement's"
        raise InvalidInput(f"not a camt.053 statement clearway can read: {why}") from exc
    payments, problems = [], []
    for number, entry in enumerate(entries, start=1):
        if entry.get("CreditDebitIndicator") != "CRDT" or entry.get("ReversalIndicator") == "true":
            continue
        words = (entry.get("RemittanceInformation") or entry.get("RemittanceInformationFull") or "").split()
        try:
            payments.append(_payment(entry.get("DebtorName"), words[0] if words else None, entry.get("Amount"),
                                     entry.get("Currency"), entry.get("BookingDate") or entry.get("ValueDate"),
                                     "camt053", entry.get("TransactionID") or entry.get("EndToEndId")))  # fmt: skip
        except ValueError as exc:
            problems.append(PaymentProblem(f"entry {number}", str(exc)))
    return payments, problems


def _text(data: bytes) -> str:
    if len(data) > MAX_FILE:
        raise InvalidInput(f"a payment file is at most {MAX_FILE // (1024 * 1024)} MiB")
    if b"\x00" in data:
        raise InvalidInput("a payment file holds no NUL bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"a payment file is UTF-8: byte {exc.start} is not") from exc
