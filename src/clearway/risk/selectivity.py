"""Selectivity: capacity per lane, random selection and trusted operators, applied to the decisions.

- Mandatory stops stay whatever the capacity: any red lane, and referrals dnl, oga and screening.
- Discretionary stops (the other yellow lanes) are kept by score up to the day's capacity; the rest go
  to blue (release, then post-clearance audit), with a reason saying so.
- Among what is left green or blue, a keyed hash draws the random sample (the unbiased estimate of
  non-compliance); AEO operators, at home or mutually recognised, get a lower random rate and rank lower.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import polars as pl

from clearway.errors import RuleFileError
from clearway.pipeline.decision import REASON
from clearway.pipeline.stage import Context
from clearway.yaml_lines import LINE, line_of, load_with_lines

MANDATORY_REFERRALS = ["dnl", "oga", "screening"]
EU = frozenset({"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
                "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})  # fmt: skip


@dataclass(frozen=True)
class Operator:
    operator: str
    name: str
    programme: str
    issuing_country: str
    valid_from: dt.date
    valid_to: dt.date


@dataclass(frozen=True)
class Settings:
    capacity_yellow: float
    capacity_red: float
    random_rate: float
    aeo_random_rate: float
    aeo_score_factor: float
    seed: int
    mutual_recognition: dict[str, frozenset[str]]
    registry: tuple[Operator, ...] = field(default=())

    def recognised(self, operator: Operator, destination: str, day: dt.date) -> bool:
        if not operator.valid_from <= day <= operator.valid_to:
            return False
        home = "EU" if destination in EU else destination
        issuer = "EU" if operator.issuing_country in EU else operator.issuing_country
        return issuer == home or issuer in self.mutual_recognition.get(home, frozenset())


def _draw(key: str, seed: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _reason(source: str, code: str, message: str | pl.Expr) -> pl.Expr:
    text = message if isinstance(message, pl.Expr) else pl.lit(message)
    return pl.struct(source=pl.lit(source), code=pl.lit(code), message=text)


def parse_settings(config: str, registry: str, source: str) -> Settings:
    """The selectivity YAML and the AEO registry CSV; errors name the file and the line."""
    doc = load_with_lines(config, source)
    if not isinstance(doc, dict):
        raise RuleFileError("selectivity settings are a mapping", file=source, line=1)
    known = {"capacity", "random_rate", "aeo_random_rate", "aeo_score_factor", "seed", "mutual_recognition", LINE}
    if set(doc) - known:
        raise RuleFileError(f"unknown setting {sorted(set(doc) - known)[0]!r}", file=source, line=line_of(doc))
    capacity = doc.get("capacity") or {}
    rates = [
        capacity.get("yellow", 0),
        capacity.get("red", 0),
        doc.get("random_rate", 0),
        doc.get("aeo_random_rate", 0),
    ]
    if not all(isinstance(r, int | float) and 0 <= r <= 1 for r in rates):
        raise RuleFileError("capacity and random rates are shares between 0 and 1", file=source, line=line_of(doc))
    operators = []
    for number, line in enumerate(registry.splitlines(), start=1):
        if not line.strip() or line.startswith(("#", "operator,")):
            continue
        cells = [c.strip() for c in line.split(",")]
        try:
            operator, name, programme, country, start, end = cells
            valid = (dt.date.fromisoformat(start), dt.date.fromisoformat(end))
        except ValueError as exc:
            raise RuleFileError(f"bad registry row: {exc}", file=f"{source} (registry)", line=number) from exc
        operators.append(Operator(operator, name, programme, country, *valid))
    mutual = {str(k): frozenset(v) for k, v in (doc.get("mutual_recognition") or {}).items() if k != LINE}
    return Settings(
        capacity_yellow=float(rates[0]),
        capacity_red=float(rates[1]),
        random_rate=float(rates[2]),
        aeo_random_rate=float(rates[3]),
        aeo_score_factor=float(doc.get("aeo_score_factor", 1.0)),
        seed=int(doc.get("seed", 0)),
        mutual_recognition=mutual,
        registry=tuple(operators),
    )


def apply(decisions: pl.DataFrame, batch: pl.DataFrame, context: Context, settings: Settings) -> pl.DataFrame:
    """Decisions after capacity, random selection and AEO treatment (same rows, same order)."""
    if decisions.is_empty():
        return decisions
    day = context.as_of.date()
    ids = batch.select("key", "submitter", "seller_identifier", "destination_country")
    trusted: dict[str, str] = {}
    by_id = {op.operator: op for op in settings.registry}
    for key, submitter, seller, destination in ids.iter_rows():
        for candidate in (submitter, seller):
            op = by_id.get(candidate or "")
            if op is not None and settings.recognised(op, destination, day):
                trusted[key] = f"{op.name} ({op.programme}, {op.issuing_country})"
    frame = decisions.with_columns(
        pl.col("key").replace_strict(trusted, default=None, return_dtype=pl.String).alias("_aeo"),
        pl.col("key").map_elements(lambda k: _draw(k, settings.seed), return_dtype=pl.Float64).alias("_draw"),
    )
    mandatory = (pl.col("lane") == "red") | pl.col("referrals").list.eval(
        pl.element().is_in(MANDATORY_REFERRALS)
    ).list.any()
    frame = frame.with_columns(
        mandatory.alias("_mandatory"),
        (pl.col("score") * pl.when(pl.col("_aeo").is_not_null()).then(settings.aeo_score_factor).otherwise(1.0)).alias(
            "_rank"
        ),
    )
    capacity = int(settings.capacity_yellow * frame.height + settings.capacity_red * frame.height)
    free = max(0, capacity - int(frame.filter(pl.col("_mandatory"))["_mandatory"].sum()))
    discretionary = frame.filter((pl.col("lane") == "yellow") & ~pl.col("_mandatory")).sort("_rank", descending=True)
    keep = set(discretionary["key"].head(free).to_list())
    released = pl.col("key").is_in(discretionary["key"].to_list()) & ~pl.col("key").is_in(sorted(keep))
    random_rate = pl.when(pl.col("_aeo").is_not_null()).then(settings.aeo_random_rate).otherwise(settings.random_rate)
    drawn = pl.col("lane").is_in(["green", "blue"]) & ~released & (pl.col("_draw") < random_rate)
    frame = frame.with_columns(
        pl.when(released)
        .then(pl.lit("blue"))
        .when(drawn)
        .then(pl.lit("yellow"))
        .otherwise(pl.col("lane"))
        .alias("lane"),
        pl.when(released)
        .then(
            pl.col("reasons").list.concat(
                pl.concat_list(
                    _reason(
                        "selectivity", "CAPACITY", "over today's inspection capacity: released for post-clearance audit"
                    )
                )
            )
        )
        .when(drawn)
        .then(
            pl.col("reasons").list.concat(
                pl.concat_list(_reason("random", "RANDOM", "random selection: the unbiased control sample"))
            )
        )
        .otherwise(pl.col("reasons"))
        .alias("reasons"),
    )
    frame = frame.with_columns(
        pl.when(pl.col("_aeo").is_not_null())
        .then(
            pl.col("reasons").list.concat(
                pl.concat_list(_reason("aeo", "AEO", pl.format("trusted operator: {}", "_aeo")))
            )
        )
        .otherwise(pl.col("reasons"))
        .cast(pl.List(REASON))
        .alias("reasons")
    )
    return frame.drop("_aeo", "_draw", "_mandatory", "_rank")
