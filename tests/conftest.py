"""Shared test helpers: the contract's example consignment and builders around it."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import os
from typing import Any

import pytest

import clearway.settings as settings_module
from clearway.model.identifiers import s10_check_digit

# The service built in a test's own process assesses in a thread of its own (`drain()` waits for it there,
# without a process to start per test), whatever environment a test builds its settings from; a served
# subprocess (tests/integration/server.py) assesses in its own process, the default.
_from_env = settings_module.Settings.from_env.__func__  # type: ignore[attr-defined]


def _assessing_in_a_thread(cls: type, env: Any = None) -> Any:
    return _from_env(cls, {"CLEARWAY_ASSESSOR": "thread"} | dict(os.environ if env is None else env))


settings_module.Settings.from_env = classmethod(_assessing_in_a_thread)  # type: ignore[method-assign, assignment]

EXAMPLE: dict[str, Any] = {
    "reference": "MKT-2026-11-28-000431",
    "channel": "post",
    "transport_document": {"type": "s10", "id": "RR123456785CN"},
    "category": "sale_of_goods",
    "order": {"platform": "example-market", "order_id": "A-99812", "order_date": "2026-11-20"},
    "seller": {"name": "Shenzhen Bright Trading Co.", "address": {"city": "Shenzhen", "country": "CN"}},
    "consignee": {
        "name": "Anna Schmidt",
        "address": {"street": "Hauptstr. 5", "city": "Köln", "postcode": "50667", "country": "DE"},
    },
    "fiscal": {"scheme": "ioss", "id": "IM2760000012"},
    "dispatch_country": "CN",
    "destination_country": "DE",
    "currency": "EUR",
    "shipping_cost": "2.99",
    "gross_mass_kg": "0.42",
    "items": [
        {"description": "Cotton T-shirt, men, printed", "hs_code": "610910", "quantity": 2, "unit_price": "7.50",
         "origin_country": "CN"},
        {"description": "Phone case, silicone", "hs_code": "392690", "quantity": 1, "unit_price": "3.20",
         "origin_country": "CN"},
    ],
}  # fmt: skip
"""The example of docs/consignment-v1.md, verbatim."""

NOON = dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC)


def example(**changes: Any) -> dict[str, Any]:
    """A deep copy of the contract's example with top-level fields replaced (None removes a field)."""
    doc = copy.deepcopy(EXAMPLE)
    for key, value in changes.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def tracked(reference: str, country: str = "CN") -> dict[str, str]:
    """A transport document of its own for a parcel filed as `reference`: a UPU S10 item id (with its check
    digit) derived from the reference, so that parcels filed in one test are separate parcels."""
    serial = f"{int(hashlib.sha256(reference.encode()).hexdigest(), 16) % 10**8:08d}"
    return {"type": "s10", "id": f"RR{serial}{s10_check_digit(serial)}{country}"}


@pytest.fixture
def doc() -> dict[str, Any]:
    return example()
