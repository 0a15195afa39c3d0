"""Revenue: dated jurisdiction rules, tariff rates, exchange rates and the duty and tax assessment."""

from clearway.revenue.assessment import Assessment, ChargeLine, Totals, VendorLiability
from clearway.revenue.engine import NotCovered, RevenueContext, assess
from clearway.revenue.fx import CustomsRateTable, ExchangeRates, FixedRates, MissingRate, Quote
from clearway.revenue.rules import Rule, RuleBook, parse_rules
from clearway.revenue.tariff import Tariff, TariffLine, parse_tariff

__all__ = [
    "Assessment",
    "ChargeLine",
    "CustomsRateTable",
    "ExchangeRates",
    "FixedRates",
    "MissingRate",
    "NotCovered",
    "Quote",
    "RevenueContext",
    "Rule",
    "RuleBook",
    "Tariff",
    "TariffLine",
    "Totals",
    "VendorLiability",
    "assess",
    "parse_rules",
    "parse_tariff",
]
