"""Synthetic AED traffic with labelled violations, for the demo, the tests and the benchmarks."""

from clearway.sim.generator import Rates, SimulatedDay, simulate
from clearway.sim.writer import write_day

__all__ = ["Rates", "SimulatedDay", "simulate", "write_day"]
