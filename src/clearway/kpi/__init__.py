"""Measurement: the KPIs of a period computed from its records (no I/O; the store fills the inputs)."""

from clearway.kpi.figures import compute
from clearway.kpi.inputs import KpiInput, Period

__all__ = ["KpiInput", "Period", "compute"]
