"""Risk: declarative profiles (rules) compiled to Polars, and the pipeline stages that apply them."""

from clearway.risk.profiles import ProfileSet, RiskProfile, parse_profiles
from clearway.risk.rules_stage import RuleStage

__all__ = ["ProfileSet", "RiskProfile", "RuleStage", "parse_profiles"]
