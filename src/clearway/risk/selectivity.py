"""Selectivity: capacity by expected value, random selection and trusted operators, applied to the decisions.

- Mandatory stops stay whatever the capacity: those whose hit cites the law that makes them mandatory (a
  listed party, arms declared as such). When they alone exceed the capacity, each says so.
- Every other stop (yellow or red) is discretionary: ranked by its expected value, the likelihood of an
  infringement (measured hit rates blended with each hit's prior) times what is at stake (duty and tax at
  risk plus the harm weight of its domain, `data/risk/domains.yaml`), and kept up to the day's capacity;
  the rest go to blue (released now, then post-clearance audit), keeping only the referrals that hold a
  parcel for someone else (the carrier, an agency), which make it green instead: a blue parcel never waits,
  and a parcel the excise office or the carrier holds takes none of customs' inspections (as it would not
  had no stop been asked for). Each stop and each release says its expected value and why.
- A stop whose likelihood rests on priors alone (no hit of it, nor its combination, inspected
  `proven_after` times, every inspection counted: a record from few sellers is measured, and weighs as
  few) takes at most `explore_share` of the day's stops while stops with a record could
  fill the rest: a new detector or a newly promoted model explores before it spends the day. Once anything
  has a record, a day tries each combination of such hits only as often as measuring it needs
  (`proven_after`, less what the day already tried; of one seller, `per_party`): the first day a seller's
  record showed, it stopped 66-143 parcels on it alone, 1-9% of them infringing. An office with no record
  yet goes by its priors.
- A stop on a measured record needs at least `least_likely` (shipped: 0.5, more likely than not) whatever
  is at stake: a high-value parcel of a seller whose record finds something one time in ten would otherwise
  outrank parcels nine times in ten infringing, and burden compliant traders nine times in ten. On the
  simulated days, stops measured at 40-60% found something 26-40% of the time (seeds 2236067, 4123105).
- The capacity is the day's: a share of the consignments decided that day (`History.day_decided`), less
  the stops already made (`History.day_stopped`), so a batch of one is treated as a slice of the day. Room
  is kept for the mandatory stops still to come that day (at today's rate, early on yesterday's, and for
  their spread and the random sample's), so that the stops a batch spends do not leave the day over
  capacity when they come. The capacity is in whole stops at or under the day's share.
- A stop stands once made, whatever the day's capacity has left (`History.stopped_before`): a parcel stopped
  for a control whose filer amends it keeps its stop while the amended filing still asks for one (an
  amendment answers a control by removing what asked for it; a trivial one late in a full day drew it again
  and released it for audit); one its filer withdrew and filed anew (the same transport document) keeps it
  whatever the new filing asks, on the lane it was stopped on (a random selection, too, is not drawn again).
- A keyed hash draws the random sample among all parcels, whatever their risk (so that it estimates the
  non-compliance of all traffic, not of what the rules let through); a parcel drawn is stopped and
  inspected even if it would have been released. AEO operators, at home or mutually recognised, get a
  lower random rate and rank lower.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass, field
from statistics import NormalDist

import polars as pl

from clearway.cooperation.aeo import Operator, parse_operators, standing
from clearway.errors import RuleFileError
from clearway.model.codelists import EU
from clearway.pipeline import plans
from clearway.pipeline.decision import REASON
from clearway.pipeline.history import History
from clearway.pipeline.stage import Context
from clearway.risk.detectors import ORDER, SPLIT_CODE
from clearway.risk.domains import Domains
from clearway.risk.offenders import REPEAT, VALUE_RECORDS
from clearway.risk.priority_areas import SEPARATOR, PriorityArea, allowance, parse_areas, risk_of
from clearway.yaml_lines import LINE, line_of, load_with_lines

SIGNALS = ("rule", "detector", "screening", "model")
"""Hit sources whose combinations are measured (as `services.history` counts them)."""
PER_PARTY = 3
"""Inspections of one party's parcels that a hit's record counts at most, unless `expected_value.per_party` says."""
RESERVE_CONFIDENCE = 0.95
"""How sure the room kept for the stops the rest of the day will bring is to hold them (`day_reserve`)."""
RESERVE_Z = NormalDist().inv_cdf(RESERVE_CONFIDENCE)
EXPLORE_CONFIDENCE = 0.95
"""How sure a stop resting on priors must be that it could prove likely enough (`least_likely`) before a priority
area tries it (`_could_prove_likely`)."""
CANDIDATE_RANK = "candidate_rank"
"""The decisions' column of each stop that competed for the day's room (`apply`'s `considered`): its rank, the
expected value after the AEO factor; null for the rest. The day's later cuts (`Settings.day_cut`) and the next
day's first (`History.yesterday`) are drawn among these, the ranks each batch's own candidates compete at:
counted among them, a stop that could not be kept (judged unlikely, or a part its order's stopped part answers
for) or an AEO's at its full expected value raised the cut above what the day's candidates could reach, and
the day ended under capacity (pilot seed 7000049, day 3: 87 stops of room left for the last batch, which had 22
candidates, while 532 parcels worth EUR 10 or more, 78% of them infringing, were released over capacity on day
5)."""
AREA_CANDIDATE, AREA_STOP = "area_candidate", "area_stop"
"""The decisions' columns of the priority area risk a discretionary stop asked for signals, and of the one it was
stopped for within its area's share (`priority_areas`); null for the rest. The day's tally (`History.day_areas`)
sums the likelihoods of the first (the infringements each risk's flagged parcels are expected to hold) and counts
the second."""
HOLDING_FOR_OTHERS = ("carrier", "oga", "dnl")
"""Referrals that hold a parcel for someone other than customs' inspectors: kept when a stop is released."""


@dataclass(frozen=True)
class Settings:
    capacity_yellow: float
    capacity_red: float
    random_rate: float
    aeo_random_rate: float
    aeo_score_factor: float
    seed: int
    mutual_recognition: dict[str, frozenset[str]]
    domains: Domains
    registry: tuple[Operator, ...] = field(default=())
    minimum_stops: int = 0  # stops a day may hold whatever its volume (the office's officers are there anyway)
    review_floor: float = 0.0  # a profile or detector whose measured hit rate falls below this is up for review
    review_minimum: int = 20  # inspections it needs before its hit rate is judged
    prior_strength: float = 10.0  # inspections a hit's prior counts for, before measured ones outweigh it
    tax_at_risk: float = 0.2  # share of the declared value taken as duty and tax at risk, when more than assessed
    proven_after: int = 10  # inspections of a hit on its own (or of a combination) before its record is trusted
    explore_share: float = 0.2  # the share of discretionary stops a stop resting on priors alone may take
    # when stops with a record could fill the rest
    per_party: int = PER_PARTY  # inspections of one seller's parcels that a hit's (or a combination's) record counts at
    # most: a party's parcels are not independent trials, and one cheap but honest seller inspected seven times
    # would otherwise set a detector's record for every seller
    least_likely: float = 0.0  # the likelihood a stop on a measured record needs, whatever is at stake: below it
    # an inspection finds the trader compliant more often than not (stops that explore a new signal are exempt:
    # they are how it gets measured; the random sample is drawn whatever the risk)
    priority_areas: tuple[PriorityArea, ...] = ()  # risks under increased controls: a share of the day's stops
    half_life_days: float = 0.0  # the age at which an inspection counts half in the records selectivity weighs
    # (0: never fades). A record that stops being refreshed fades back to its prior and is tried again: judged
    # unlikely on its first days, a detector was never inspected again and kept that record while it came to
    # find something five times in six (pilot seed 7000010, day 5: DET-UNDERVALUE-SELLER 2 found in 11 since
    # day 1, 83% of its parcels infringing; DET-UNDERVALUE 2 in 15, 41% alone and 89% with other hits)

    def day_capacity(self, consignments: int, sampled: int | None = None) -> int:
        """Stops the day may hold after `consignments` decided: its share of them (targeted and random),
        in whole stops at or under that share (the stop rate the office set is a ceiling, never passed by a
        part of a stop), and never fewer than `minimum_stops`, so that a quiet day's parcels can be stopped too.
        With `sampled` (the consignments actually seen, when `consignments` is an expected day), the random
        share counts only those: the random sample of the parcels still to come is not spent ahead."""
        targeted = self.targeted(consignments)
        random = self.random_rate * (consignments if sampled is None else sampled)
        return max(self.minimum_stops, math.floor(targeted + random + 1e-9))

    def day_cut(self, history: History, ranks: list[float], consignments: int, room: int | None = None,
                to_come: int | None = None, taken: int = 0) -> float:  # fmt: skip
        """The expected value a discretionary stop needs today, among every discretionary stop asked for so far
        (earlier batches' and these `ranks`), weighed early in the day toward the cut yesterday ended with, as
        much as the day has yet to come. A batch of poor candidates leaves its share to a later batch of better
        ones instead of spending it.

        The cut fills the day's targeted share of the consignments decided so far; with `room` (the
        discretionary stops the day may still make, this batch's included) and `to_come` (this batch and the
        consignments still expected), it fills that room at the rate the day's candidates have come instead:
        a day whose morning spent less than its share (its cut, yesterday's, was too high for today's
        candidates) lowers the cut for the rest of the day rather than end under capacity, and one that spent
        more raises it. `apply` gives them only while yesterday's volume says how much of the day is to come:
        otherwise a stop of room opening would take the next candidate, whatever its rank."""
        pool = sorted([*history.day_candidates, *ranks], reverse=True)
        decided = history.day_decided + consignments
        if room is None or not to_come:
            today = self.cut(pool, decided, taken)
        else:
            today = _rank_at(pool, math.ceil(max(0, room) * decided / to_come - 1e-9))
        if history.yesterday is None or not math.isfinite(history.yesterday[1]) or not math.isfinite(today):
            return today
        progress = min(1.0, history.day_decided / max(1, history.yesterday[0]))  # early on, yesterday says more
        return (1 - progress) * history.yesterday[1] + progress * today

    def targeted(self, consignments: float) -> float:
        """The targeted stops (yellow and red, the random sample apart) the capacity allows among `consignments`."""
        return (self.capacity_yellow + self.capacity_red) * consignments

    def cut(self, ranks: list[float], consignments: int, taken: int = 0) -> float:
        """The rank that fills the targeted share of `consignments` (at least the day's minimum of stops), less
        the stops priority areas `taken` of it, among `ranks` (sorted, highest first; the areas' stops are not
        among them)."""
        targeted = max(self.minimum_stops, math.ceil(self.targeted(consignments) - 1e-9))
        slots = targeted - taken
        return _rank_at(ranks, slots)

    def recognised(self, operator: Operator, destination: str) -> bool:
        """Whether `destination`'s administration recognises the authorisation (its own, or a mutually
        recognised partner's); `operator` is a row in force (`cooperation.aeo.standing`)."""
        home = "EU" if destination in EU else destination
        issuer = "EU" if operator.issuing_country in EU else operator.issuing_country
        return issuer == home or issuer in self.mutual_recognition.get(home, frozenset())


def _draw(key: str, seed: int) -> float:
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _reason(source: str, code: str, message: str | pl.Expr) -> pl.Expr:
    text = message if isinstance(message, pl.Expr) else pl.lit(message)
    return pl.struct(source=pl.lit(source), code=pl.lit(code), message=text)


def parse_settings(config: str, registry: str, source: str, domains: Domains) -> Settings:
    """The selectivity YAML and the AEO registry CSV; errors name the file and the line."""
    doc = load_with_lines(config, source)
    if not isinstance(doc, dict):
        raise RuleFileError("selectivity settings are a mapping", file=source, line=1)
    known = {"capacity", "random_rate", "aeo_random_rate", "aeo_score_factor", "seed", "mutual_recognition",
             "expected_value", "review", "priority_areas", LINE}  # fmt: skip
    if set(doc) - known:
        raise RuleFileError(f"unknown setting {sorted(set(doc) - known)[0]!r}", file=source, line=line_of(doc))
    capacity = doc.get("capacity") or {}
    if not isinstance(capacity, dict) or set(capacity) - {"yellow", "red", "minimum", LINE}:
        raise RuleFileError("capacity takes yellow, red (shares) and minimum (stops a day)", file=source,
                            line=line_of(doc))  # fmt: skip
    minimum = capacity.get("minimum", 0)
    if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 0:
        raise RuleFileError("capacity minimum is a whole number of stops a day", file=source, line=line_of(doc))
    rates = [
        capacity.get("yellow", 0),
        capacity.get("red", 0),
        doc.get("random_rate", 0),
        doc.get("aeo_random_rate", 0),
    ]
    if not all(isinstance(r, int | float) and 0 <= r <= 1 for r in rates):
        raise RuleFileError("capacity and random rates are shares between 0 and 1", file=source, line=line_of(doc))
    operators = parse_operators(registry, f"{source} (registry)")
    mutual = {str(k): frozenset(v) for k, v in (doc.get("mutual_recognition") or {}).items() if k != LINE}
    ev = doc.get("expected_value") or {}
    keys = {
        "prior_strength",
        "tax_at_risk",
        "proven_after",
        "explore_share",
        "per_party",
        "least_likely",
        "half_life_days",
    }
    if not isinstance(ev, dict) or set(ev) - keys - {LINE}:
        raise RuleFileError(f"expected_value takes {', '.join(sorted(keys))}", file=source, line=line_of(doc))
    strength, share = ev.get("prior_strength", 10), ev.get("tax_at_risk", 0.2)
    proven, explore = ev.get("proven_after", 10), ev.get("explore_share", 0.2)
    per_party, least_likely = ev.get("per_party", PER_PARTY), ev.get("least_likely", 0.0)
    half_life = ev.get("half_life_days", 0)
    if (
        not all(
            isinstance(x, int | float) and not isinstance(x, bool) and x >= 0
            for x in (strength, share, proven, explore, least_likely, half_life)
        )
        or explore > 1
        or least_likely > 1
        or isinstance(per_party, bool)
        or not isinstance(per_party, int)
        or per_party < 1
    ):
        raise RuleFileError(
            "expected_value settings are numbers, zero or more (explore_share and least_likely at most 1, "
            "per_party a whole number, one or more, half_life_days 0 for records that never fade)", file=source,
            line=line_of(doc),
        )  # fmt: skip
    review = doc.get("review") or {}
    if not isinstance(review, dict):
        raise RuleFileError("review takes hit_rate_floor (a share) and minimum_inspected (a count)", file=source,
                            line=line_of(doc))  # fmt: skip
    floor, least = review.get("hit_rate_floor", 0.0), review.get("minimum_inspected", 20)
    if (
        set(review) - {"hit_rate_floor", "minimum_inspected", LINE}
        or not isinstance(floor, int | float)
        or not 0 <= floor <= 1
        or isinstance(least, bool)
        or not isinstance(least, int)
        or least < 1
    ):
        raise RuleFileError("review takes hit_rate_floor (a share) and minimum_inspected (a count)", file=source,
                            line=line_of(doc))  # fmt: skip
    return Settings(
        capacity_yellow=float(rates[0]),
        capacity_red=float(rates[1]),
        random_rate=float(rates[2]),
        aeo_random_rate=float(rates[3]),
        aeo_score_factor=float(doc.get("aeo_score_factor", 1.0)),
        seed=int(doc.get("seed", 0)),
        mutual_recognition=mutual,
        domains=domains,
        registry=tuple(operators),
        minimum_stops=minimum,
        review_floor=float(floor),
        review_minimum=least,
        prior_strength=float(strength),
        tax_at_risk=float(share),
        proven_after=int(proven),
        explore_share=float(explore),
        per_party=per_party,
        least_likely=float(least_likely),
        half_life_days=float(half_life),
        priority_areas=parse_areas(doc.get("priority_areas"), source, line_of(doc), domains.rules),
    )


def _rank_at(ranks: list[float], slots: int) -> float:
    """The rank that `slots` stops reach down to among `ranks` (sorted, highest first): none for no slot,
    every rank when there are more slots than ranks."""
    return ranks[slots - 1] if 0 < slots <= len(ranks) else (math.inf if slots <= 0 else -math.inf)


def apply(decisions: pl.DataFrame, batch: pl.DataFrame, context: Context, settings: Settings) -> pl.DataFrame:
    """Decisions after capacity, random selection and AEO treatment (same rows, same order)."""
    if decisions.is_empty():
        return decisions.drop("signals", strict=False)
    trusted: dict[str, str] = {}
    # the packaged registry, then what the store holds (ours, and partners' lists): a later row of an
    # operator (a suspension, a revocation) takes effect on its date
    in_force = standing((*settings.registry, *context.history.operators), context.as_of.date())
    columns = ("key", "submitter", "seller_identifier", "destination_country")
    for key, submitter, seller, destination in zip(*(batch[c].to_list() for c in columns), strict=True):
        for candidate in (submitter, seller):
            op = in_force.get(candidate or "")
            if op is not None and settings.recognised(op, destination):
                trusted[key] = f"{op.name} ({op.programme}, {op.issuing_country})"
    draws = pl.Series("_draw", [_draw(key, settings.seed) for key in decisions["key"].to_list()], pl.Float64)
    stop = pl.col("lane").is_in(["yellow", "red"])
    before = context.history.stopped_before
    amended = [key for key, (_, anew) in before.items() if not anew]
    refiled = {key: lane for key, (lane, anew) in before.items() if anew}
    lanes = decisions["lane"]  # compared as a Series: `is_in` goes through a query
    a_lane_stops = bool((lanes == "yellow").any() or (lanes == "red").any())  # most often why there is a choice
    if (not trusted and not a_lane_stops and not (draws < settings.random_rate).any()
            and not (refiled and decisions["key"].is_in(list(refiled)).any())):  # fmt: skip
        asking = pl.element().struct.field("lane").is_in(["yellow", "red"])
        if not decisions.select(pl.col("signals").list.eval(asking).list.any().any()).item():
            return _nothing_to_choose(decisions, settings)
    areas = tuple(a for a in settings.priority_areas if a.in_force(context.as_of.date()))
    random_rate = pl.when(pl.col("_aeo").is_not_null()).then(settings.aeo_random_rate).otherwise(settings.random_rate)
    drawn = pl.col("_draw") < random_rate  # whatever the parcel's risk: the sample estimates all traffic
    frame = plans.run(
        _with_expected_value(decisions, context, settings, areas)
        .with_columns(pl.col("key").replace_strict(trusted, default=None, return_dtype=pl.String).alias("_aeo"), draws)
        .with_columns(
            (stop & pl.col("mandatory")).alias("_mandatory"),
            (~(stop & pl.col("mandatory")) & ((stop & pl.col("key").is_in(amended))
                                               | pl.col("key").is_in(list(refiled)))).alias("_standing"),
            (pl.col("expected_value") * pl.when(pl.col("_aeo").is_not_null()).then(settings.aeo_score_factor)
             .otherwise(1.0)).alias("_rank"),
            drawn.alias("_drawn"),
        )
    )  # fmt: skip
    mandatory, sampled = int(frame["_mandatory"].sum()), int((frame["_drawn"] & ~frame["_mandatory"]).sum())
    kept_before = int((frame["_standing"] & ~frame["_drawn"]).sum())
    expected = context.history.day_decided + frame.height  # the day so far, or yesterday's whole day: a batch
    if context.history.yesterday is not None:  # with more worth stopping than its share may borrow the rest,
        expected = max(expected, context.history.yesterday[0])  # the cut keeps the poor ones out
    capacity = settings.day_capacity(expected, context.history.day_decided + frame.height) - context.history.day_stopped
    reserve = day_reserve(context.history, mandatory, frame.height, expected, settings.random_rate)
    free = max(0, capacity - mandatory - sampled - kept_before - reserve)
    asked = plans.run(frame.lazy().filter(stop & ~pl.col("_mandatory") & ~pl.col("_drawn") & ~pl.col("_standing"))
                      .sort(["_rank", "key"], descending=[True, False]))  # fmt: skip
    discretionary, part_of = _one_part_per_order(frame, asked)
    unlikely = pl.col("_proven") & (pl.col("likelihood") < settings.least_likely)
    proven = discretionary.filter(pl.col("_proven") & ~unlikely)
    day_room = math.ceil(settings.explore_share * settings.day_capacity(expected)) - context.history.day_explored
    unproven_room = max(0, day_room, free - proven.height)  # the day's share, or whatever proven ones leave
    unproven = discretionary.filter(~pl.col("_proven"))  # the unlikely proven ones are neither
    if not context.history.hit_rates.is_empty():  # an office with no record at all goes by its priors
        unproven = _enough_to_measure(unproven, batch, context, settings)
    considered = plans.run(pl.concat([proven.lazy(), unproven.lazy().head(unproven_room)])
                           .sort(["_rank", "key"], descending=[True, False]))  # fmt: skip
    # an area's candidates are every stop likely enough today, on its record or on its priors, not only the
    # best-ranked few that the room for stops on priors alone leaves (cut by expected value, which the area sets
    # aside); one unlikely on its priors is not: a first day with no record stopped two parcels in three in vain
    pool = (
        plans.run(pl.concat([proven.lazy(), _could_prove_likely(unproven, context, settings).lazy()])
                  .sort(["_rank", "key"], descending=[True, False]))
        if areas else considered
    )  # fmt: skip
    targeted = settings.targeted(expected)
    progress = min(1.0, (context.history.day_decided + frame.height) / max(1, expected))
    # the infringements each area risk's flagged parcels are expected to hold, whether or not they are likely enough
    # to be stopped: what the area shares its stops by
    flagged = dict(discretionary.filter(pl.col("_risk").is_not_null()).group_by("_risk")
                   .agg(pl.col("likelihood").sum()).iter_rows()) if areas else {}  # fmt: skip
    in_area = _area_stops(pool, areas, context.history, targeted, progress, flagged).head(free)
    if in_area.height:
        considered = plans.run(
            pl.concat([considered.lazy(), in_area.lazy()]).unique("key", keep="first", maintain_order=True)
            .sort(["_rank", "key"], descending=[True, False])
        )  # fmt: skip
    rest = considered.filter(~pl.col("key").is_in(in_area["key"].implode())) if in_area.height else considered
    # the room the areas will take for the rest of the day is theirs: stops ranked by expected value alone must
    # not spend it before their candidates come
    later = sum(math.ceil(area.share * targeted * (1 - progress) - 1e-9) for area in areas)
    room = max(0, free - in_area.height - later)
    rest_known = context.history.yesterday is not None and expected > context.history.day_decided + frame.height
    day_cut = settings.day_cut(context.history, rest["_rank"].to_list(), frame.height,
                               room=room if rest_known else None,
                               to_come=expected - context.history.day_decided,
                               taken=sum(n for _, n in context.history.day_areas.values()) + in_area.height,
                               )  # fmt: skip
    by_value = rest.filter(pl.col("_rank") >= day_cut).head(room)
    kept = pl.concat([in_area, by_value])
    needed = float(by_value["_rank"].min()) if by_value.height else day_cut  # type: ignore[arg-type]  # what a stop took
    cut = needed if math.isfinite(needed) and kept.height < discretionary.height else None
    stopped = set(kept["key"]) | set(frame["key"].filter(frame["_mandatory"] | frame["_drawn"] | frame["_standing"]))
    part_stopped = {key: part for key, part in part_of.items() if part in stopped}  # its order is inspected
    keep, released, part = pl.col("_keep"), pl.col("_released"), pl.col("_part")
    over = pl.col("_mandatory") & (pl.lit(mandatory) > capacity)
    drawn = pl.col("_drawn")
    below = pl.lit("") if cut is None else (  # a stop worth the cut finds the day's room taken by earlier ones
        pl.when(pl.col("_rank") < cut).then(pl.lit(f" (below the day's cut of {round(cut, 2)})"))
        .when("_considered")
        .then(pl.lit(f" (worth the day's cut of {round(cut, 2)}, but the stops made before it took the room)"))
        .otherwise(pl.lit(" (today's room for stops on priors alone is taken)"))
    )  # fmt: skip
    ranked = (  # what the cut is compared with, where it is not the expected value
        pl.when(pl.col("_aeo").is_not_null()).then(pl.format(", ranked at {} as a trusted operator's",
                                                              pl.col("_rank").round(2))).otherwise(pl.lit(""))
    )  # fmt: skip
    holding = pl.col("referrals").list.set_intersection(list(HOLDING_FOR_OTHERS)).list.len() > 0
    chosen = (  # what the day's room came to, for each row: once, for the expressions below to read
        frame.lazy().with_columns(
            pl.col("key").is_in(kept["key"].implode()).alias("_keep"),
            pl.col("key").is_in(asked["key"].implode()).alias("_released"),
            pl.col("key").is_in(considered["key"].implode()).alias("_considered"),
            pl.col("key").replace_strict(part_stopped, default=None, return_dtype=pl.String).alias("_part"),
            pl.col("key").replace_strict(dict(in_area.select("key", "_risk").iter_rows()), default=None,
                                         return_dtype=pl.String).alias("_area"),
            pl.col("key").replace_strict(dict(discretionary.select("key", "_risk").drop_nulls().iter_rows()),
                                         default=None, return_dtype=pl.String).alias("_risk"),
        ).with_columns((released & ~keep).alias("_released"))
    )  # fmt: skip
    selectivity_reason = (
        pl.when(released & part.is_not_null()).then(_reason("selectivity", "ORDER", pl.format(
            "only fiscal hits asked to stop it (the split shipment, and its value, its code, its parties' record "
            "of value fraud or the model's score, which the order's invoice answers for every part), and another "
            "part of its order is stopped ({}): inspecting that part finds the order, and its finding reassesses "
            "the parts as one consignment; released", part)))
        .when(released & unlikely).then(_reason("selectivity", "UNLIKELY", pl.format(
            "{}% likely, under the {}% a stop on a measured record needs: expected value {} = {}; released for "
            "post-clearance audit", (pl.col("likelihood") * 100).round(0),
            pl.lit(round(settings.least_likely * 100)), pl.col("expected_value").round(2), pl.col("_why"))))
        .when(released).then(_reason("selectivity", "CAPACITY", pl.format(
            "over today's inspection capacity: expected value {}{}{} = {}; released for post-clearance audit",
            pl.col("expected_value").round(2), ranked, below, pl.col("_why"))))
        .when(keep & pl.col("_area").is_not_null()).then(_reason("selectivity", "PRIORITY-AREA", pl.format(
            "selected within a priority control area, {}: expected value {} = {}",
            pl.col("_area").replace_strict(_area_texts(areas), default=pl.col("_area"), return_dtype=pl.String),
            pl.col("expected_value").round(2), pl.col("_why"))))
        .when(keep).then(_reason("selectivity", "EXPECTED-VALUE", pl.format(
            "selected within capacity: expected value {} = {}", pl.col("expected_value").round(2), pl.col("_why"))))
        .when(over).then(_reason("selectivity", "MANDATORY-OVER-CAPACITY", pl.lit(
            f"mandatory stop kept: this batch's {mandatory} mandatory stops alone exceed the {max(capacity, 0)} "
            "stops the day's capacity has left")))
        .when(pl.col("_standing") & ~drawn).then(_reason("selectivity", "STANDING", pl.lit(
            "stopped for a control before its filer filed it again: the stop stands (an amendment answers a "
            "control by removing what asked for it; withdrawing the parcel and filing it anew does not draw it "
            "again)")))
        .when(pl.col("_mandatory")).then(_reason("selectivity", "MANDATORY", pl.lit(
            "mandatory stop, kept whatever the capacity (the law it follows is in the hit's profile)")))
    )  # fmt: skip
    random_reason = pl.when(drawn).then(_reason("random", "RANDOM", pl.lit(
        "random selection: the unbiased control sample, drawn whatever the parcel's risk")))  # fmt: skip
    aeo_reason = pl.when(pl.col("_aeo").is_not_null()).then(
        _reason("aeo", "AEO", pl.format("trusted operator: {}", "_aeo"))
    )
    decided = plans.run(
        chosen.with_columns(
            # released beyond capacity: blue (released now, audited after), unless another body's referral holds
            # it: then green, held for that body alone, as a parcel whose only hits were that body's would be (a
            # yellow lane would send it to customs' inspectors, whose capacity it was just released from)
            pl.when(released & ~holding & part.is_null()).then(pl.lit("blue"))
            .when(released).then(pl.lit("green"))  # an order's other parts: its part stopped answers for them
            .when(pl.col("_standing") & ~stop)
            .then(pl.col("key").replace_strict(refiled, default="yellow", return_dtype=pl.String))
            .when(drawn & ~stop).then(pl.lit("yellow")).otherwise(pl.col("lane"))
            .alias("lane"),
            pl.when(released).then(pl.col("referrals").list.set_intersection(list(HOLDING_FOR_OTHERS)))
            .otherwise(pl.col("referrals")).alias("referrals"),
            over.alias("mandatory_over_capacity"),
            (stop & ~pl.col("_mandatory") & ~drawn & ~pl.col("_standing")).alias("discretionary"),
            # the rank it competed for the day's room at, had it a chance: the day's later cuts are drawn among these
            pl.when(pl.col("_considered") & pl.col("_area").is_null()).then(pl.col("_rank")).alias(CANDIDATE_RANK),
            # the area risk its hits signal, and the one it was stopped for: what the day's areas have flagged and spent
            pl.col("_risk").alias(AREA_CANDIDATE), pl.col("_area").alias(AREA_STOP),
            (keep & ~pl.col("_proven")).alias("explored"),
            pl.when(keep & ~pl.col("_proven")).then(pl.col("_combination")).alias("explored_as"),
            # the reasons selectivity, the random sample and a trusted operator's status add, in that order
            selectivity_reason.alias("_selectivity"), random_reason.alias("_random"), aeo_reason.alias("_trusted"),
        ).drop("_aeo", "_draw", "_drawn", "_mandatory", "_standing", "_rank", "_why", "_proven", "_combination",
               "_keep", "_released", "_considered", "_part", "_area", "_risk", "_evidence", "signals")
    )  # fmt: skip
    return _with_reasons_added(decided, ["_selectivity", "_random", "_trusted"])


def _nothing_to_choose(decisions: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """The decisions of a batch where nothing asks to stop (no lane, no signal), none is drawn for the random
    sample, none stands from before and none is a trusted operator's (most single filings): nothing is likely
    to be found (likelihood 0), nothing competes for the day's room and no reason is added. Each row is as
    `apply` leaves it, without its plans (on one consignment, about 6 of the pipeline's 15 ms)."""
    return decisions.with_columns(
        pl.lit(0.0).alias("likelihood"),
        _at_risk(decisions, settings).alias("stake"),  # no domain's harm: no hit asks to stop
        pl.lit(0.0).alias("expected_value"),
        pl.lit(False).alias("mandatory_over_capacity"),
        pl.lit(False).alias("discretionary"),
        pl.lit(None, pl.Float64).alias(CANDIDATE_RANK),
        pl.lit(None, pl.String).alias(AREA_CANDIDATE),
        pl.lit(None, pl.String).alias(AREA_STOP),
        pl.lit(False).alias("explored"),
        pl.lit(None, pl.String).alias("explored_as"),
    ).drop("signals")


def _area_stops(considered: pl.DataFrame, areas: tuple[PriorityArea, ...], history: History, targeted: float,
                progress: float, flagged: dict[str, float]) -> pl.DataFrame:  # fmt: skip
    """Of `considered` (best first, with `_risk`), the stops the priority areas in force make: for each area risk,
    its best candidates up to what it may still spend of the day's `targeted` stops by `progress` of the day, in
    proportion to the infringements its `flagged` parcels are expected to hold (`priority_areas.allowance`)."""
    if not areas or considered["_risk"].null_count() == considered.height:
        return considered.clear()
    room = allowance(areas, flagged, history.day_areas, targeted, progress)
    ranked = considered.filter(pl.col("_risk").is_not_null()).with_columns(
        (pl.int_range(pl.len()).over("_risk") < pl.col("_risk").replace_strict(room, default=0,
                                                                               return_dtype=pl.Int64)).alias("_due")
    )  # fmt: skip
    due = ranked.filter("_due")
    # what a risk could not spend for want of candidates goes to its area's other risks, best first
    spare = {area.code: sum(room.get(area.label(r), 0) for r, _ in area.risks) for area in areas}
    for label in due["_risk"].to_list():
        spare[label.split(SEPARATOR, 1)[0]] -= 1
    more = ranked.filter(~pl.col("_due")).with_columns(pl.col("_risk").str.split(SEPARATOR).list.first().alias("_of"))
    more = more.filter(
        pl.int_range(pl.len()).over("_of") < pl.col("_of").replace_strict(spare, default=0, return_dtype=pl.Int64)
    )
    return pl.concat([due, more.drop("_of")]).drop("_due").sort(["_rank", "key"], descending=[True, False])


def _area_texts(areas: tuple[PriorityArea, ...]) -> dict[str, str]:
    """What a stop made within an area says of it, per area risk."""
    return {
        area.label(risk): f"{area.code} ({area.title}) for {risk.replace('_', ' ')}: the area keeps "
        f"{round(area.share * 100)}% of the day's stops for its risks, shared in proportion to the infringements "
        f"each one's flagged parcels are expected to hold ({area.basis})"
        for area in areas
        for risk, _ in area.risks
    }


def _one_part_per_order(frame: pl.DataFrame, asked: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
    """Of the parcels that only fiscal hits ask to stop, a split-shipment hit among them, one part per order: an
    officer opening one part finds the order (its number and its whole price on each invoice), and the finding
    names the other parts, which are reassessed with it as one consignment (`services.accounts.correct`);
    stopping each part would spend an inspection per parcel on one fraud. A fiscal hit is about the value, the
    code or the record of value fraud of parties that every part shares, which the order's invoice answers for
    all of them:
    - a party's record of value fraud (`offenders.VALUE_RECORDS`) is the same on every part (one seller, one
      buyer): on pilot seed 7000041, day 5, 220 of the 496 stops were parts of 83 orders, 218 of them on the
      seller's record beside the split, while 299 parcels likely undervalued were released over capacity;
    - the model scores the parts alike (one seller, buyer and route, alike goods and values): once it had
      learnt from split findings, 50 orders had two parts or more stopped on one day, 128 parts, 121 of them on
      its hit (pilot seed 7000049, day 4); answered for by one part, 3 orders that day.
    A hit about the goods in each parcel (IPR, prohibitions, safety, another agency's) or a party's record of
    counterfeits or of a seizure is not answered by opening another part: it keeps its part ranked. The part
    that stands for an order is one stopped anyway (mandatory, drawn, standing), else its best-ranked part in
    `asked` (best first). Returns `asked` without the parts it stands for, and {each such part: the part that
    stands for it}."""
    if ORDER not in frame.columns or asked[ORDER].null_count() == asked.height:
        return asked, {}  # no part of an order asked to stop
    standing_for: dict[str, str] = {}
    for order, key in plans.run(
        frame.lazy().filter((pl.col("_mandatory") | pl.col("_drawn") | pl.col("_standing"))
                            & pl.col(ORDER).is_not_null()).select(ORDER, "key")
    ).iter_rows():  # fmt: skip
        standing_for.setdefault(order, key)
    signal = pl.element().struct
    value_record = pl.lit(False)
    for code, prior in sorted(VALUE_RECORDS):
        value_record |= (signal.field("code") == code) & (signal.field("weight") == prior)
    seizure = signal.field("code").str.starts_with(REPEAT) & ~value_record
    alone = (
        pl.col("signals")
        .list.eval(~signal.field("lane").is_in(["yellow", "red"]) | (signal.field("source") == "random")
                   | (signal.field("code") == SPLIT_CODE)
                   | (signal.field("domain") == "fiscal") & ~seizure)
        .list.all()
    )  # fmt: skip
    part_of: dict[str, str] = {}
    for order, key, split_only in plans.run(
        asked.lazy().filter(pl.col(ORDER).is_not_null()).select(ORDER, "key", alone)
    ).iter_rows():
        first = standing_for.setdefault(order, key)
        if first != key and split_only:
            part_of[key] = first
    return (asked.filter(~pl.col("key").is_in(list(part_of))) if part_of else asked), part_of


def _enough_to_measure(unproven: pl.DataFrame, batch: pl.DataFrame, context: Context,
                       settings: Settings) -> pl.DataFrame:  # fmt: skip
    """Of the stops resting on priors alone, best first, those worth a try today: for each combination of hits
    as many as its record still needs (`proven_after`, less those the day already tried), and of one seller
    at most `per_party` (they would count for no more)."""
    party = pl.coalesce("seller_key", "key") if "seller_key" in batch.columns else pl.col("key")
    room = pl.col("_combination").replace_strict(
        {c: max(0, settings.proven_after - n) for c, n in context.history.day_explored_by.items()},
        default=settings.proven_after, return_dtype=pl.Int64,
    )  # fmt: skip
    return plans.run(
        unproven.lazy()
        .join(batch.lazy().select("key", party.alias("_party")), on="key", how="left", maintain_order="left")
        .sort(["_rank", "key"], descending=[True, False])
        .filter(pl.int_range(pl.len()).over("_combination", "_party") < settings.per_party)
        .filter(pl.int_range(pl.len()).over("_combination") < room)
        .drop("_party")
    )


def _could_prove_likely(unproven: pl.DataFrame, context: Context, settings: Settings) -> pl.DataFrame:
    """Of the stops resting on priors alone (those `_enough_to_measure` left, once anything has a record), the ones a
    priority area may try: likely enough today, or, once records exist, whose likelihood could still prove to be
    `least_likely` or more: the upper `EXPLORE_CONFIDENCE` bound of its credible interval (a Beta distribution
    around the likelihood, weighing the prior's and the combination's inspections, `_evidence`) reaches it.

    A combination judged on hits each measured on its own meets neither test where they mean more together than
    apart: a seller's record of under-valuation (1 found in 8 inspected alone) beside a unit value at the low end
    of its code's (0 in 7) made 33% as independent signals, while 57% of those parcels (65 on pilot seed 4242, day
    5) were under-valued, and 88% of those that a seller's low prices flagged too. Never tried, the combination
    was never measured. The bound tries such a combination (up to `proven_after` a day, as any stop on priors)
    and leaves out the hopeless: a low unit value alone, 5% likely on its record, bounds at 19% and is not tried
    (tried within the area's room, ten such stops a day found nothing)."""
    likely = pl.col("likelihood") >= settings.least_likely
    if context.history.hit_rates.is_empty() or unproven.is_empty():  # no record at all: priors alone decide
        return unproven.filter(likely)
    from scipy.special import betaincinv  # 0.16 s to import: here, where records exist, not in every process

    p = unproven["likelihood"].clip(1e-6, 1 - 1e-6).to_numpy()
    n = unproven["_evidence"].to_numpy()
    upper = betaincinv(p * n, (1 - p) * n, EXPLORE_CONFIDENCE)
    return unproven.filter(likely | pl.Series(upper >= settings.least_likely))


def day_reserve(history: History, mandatory: int, consignments: int, expected: int, random_rate: float) -> int:
    """Stops kept back for what the rest of the day will bring whatever the capacity: a discretionary stop spent
    now would otherwise push the day over its capacity when they come. The consignments still to come are
    those `expected` beyond the ones decided with this batch.

    - Mandatory stops are kept whatever the capacity. Their share is today's so far, weighed early in the day
      toward yesterday's, as much as the day has yet to come: their mean is kept back.
    - The random sample of the parcels still to come brings its own room as they come (`day_capacity`
      counts it on the parcels seen), but only at its mean: a sample drawing above it would overrun.
    - Both counts vary about their means as Poisson counts, so the room kept is the mandatory mean plus the
      one-sided spread of the two together at `RESERVE_CONFIDENCE`. Room kept at the mandatory mean alone
      left half the days over capacity; with the mandatory spread alone, a day still went over by the
      random sample's draw (seed 2236067, day 2: 498 stops for 9,934 parcels)."""
    rest = expected - history.day_decided - consignments
    if rest <= 0:
        return 0
    stops, among = history.day_mandatory
    share = (stops + mandatory) / (among + consignments) if among + consignments else 0.0
    if history.yesterday_mandatory is not None and history.yesterday is not None:
        progress = min(1.0, (among + consignments) / max(1, history.yesterday[0]))
        share = (1 - progress) * history.yesterday_mandatory + progress * share
    mandatory_mean, random_mean = share * rest, random_rate * rest
    return math.ceil(mandatory_mean + RESERVE_Z * math.sqrt(mandatory_mean + random_mean) - 1e-9)


ROW_BY_ROW = 64
"""The most rows `_with_reasons_added` appends to row by row; a longer frame's rows are rebuilt as a long frame."""


def _with_reasons_added(frame: pl.DataFrame, added: list[str], row_by_row: int = ROW_BY_ROW) -> pl.DataFrame:
    """`frame` with each row's reasons in the `added` columns (structs, null where none) appended to `reasons`, in
    that order, and those columns dropped. Up to `row_by_row` rows (a single filing, a small batch), each row's list
    is concatenated with its new reasons: one step. On more, only the rows that gain one are rebuilt, as a long
    frame grouped back into lists: appending a struct to a list of them row by row (`list.concat`) cost Polars
    about 5 us a row, more than the rest of selectivity on a day's batch, while the long frame's five steps cost
    a single filing 0.3-0.8 ms more than the one step (measured on the flagged call, runs alternating)."""
    gaining = [c for c in added if frame[c].null_count() < frame.height]
    if not gaining:
        return frame.drop(added)
    if frame.height <= row_by_row:
        return frame.with_columns(
            pl.concat_list("reasons", *gaining).list.drop_nulls().cast(pl.List(REASON)).alias("reasons")
        ).drop(added)
    rows = frame.lazy().with_row_index("_row")
    new = pl.concat([rows.select("_row", pl.col(c).alias("_reason")).filter(pl.col("_reason").is_not_null())
                     for c in gaining])  # fmt: skip
    old = rows.join(new.select("_row").unique(), on="_row", how="semi").select(
        "_row", pl.col("reasons").alias("_reason")
    )
    # within a group Polars keeps the rows' order (its `group_by` documents it): the old reasons, then `added`'s
    lists = pl.concat([old.explode("_reason").drop_nulls("_reason"), new]).group_by("_row").agg("_reason")
    return plans.run(
        rows.join(lists, on="_row", how="left", maintain_order="left")
        .with_columns(pl.coalesce("_reason", "reasons").cast(pl.List(REASON)).alias("reasons"))
        .drop("_row", "_reason", *added)
    )


def _with_expected_value(decisions: pl.DataFrame, context: Context, settings: Settings,
                         areas: tuple[PriorityArea, ...]) -> pl.LazyFrame:  # fmt: skip
    """A plan of `decisions` with `likelihood` (that an inspection finds an infringement), `stake` (EUR: duty and
    tax at risk plus the harm of the most harmful domain asked for) and `expected_value` (their product), `_why`
    (how they were reached, for the officer), and `_risk`, the risk of the priority `areas` each is a candidate
    for (`priority_areas.risk_of`).

    A hit's likelihood is its measured hit rate where it was the only hit (so that it does not borrow the
    findings of a stronger hit it rides along with) blended with its prior (the profile's weight, in %), the
    prior counting as `prior_strength` inspections; the model's hits are measured per band the same way,
    its score as their prior (a model trained on inspected parcels overrates the rest until its band's
    record says otherwise). Hits combine as independent signals, 1 - the product of (1 - each), and that
    estimate is in turn the prior of the combination's own record, once inspections have tried it; until that
    record is measured, the prior is at least what its likeliest measured part (parcels that had two or more
    of its hits and no other) found, and such a part measured likely enough makes the stop a measured one
    (`_measured_parts`). Where some of the hits are measured (`proven_after` inspections on their own), only
    those combine: a prior beside them would raise the estimate on no evidence (the day a model was promoted,
    its new bands beside a seller's record of one in ten made stops 40-60% likely that found something one time
    in ten). But a stop that is unlikely on its measured hits alone, beside hits with no record yet, is not
    judged on them: it is a combination nobody has measured, and it is explored like a new signal (a few a day)
    until its own record speaks. Judged unlikely, such a stop was never inspected and its combination never measured:
    pilot seed 11 with records fading (`half_life_days`), day 5, parcels of a seller's under-valuation
    (infringing 93% of the time beside other hits) were released as 10% likely on a weak repeat-seller
    record beside them, and under-valuation was stopped 0-1% of the time.

    The duty and tax at risk is `_at_risk`'s."""
    m = settings.prior_strength
    signals = decisions.lazy().select("key", "signals").explode("signals").drop_nulls("signals").unnest("signals")
    rates = context.history.hit_rates.lazy().select("code", "alone_inspected", "alone_found", "alone_tried")
    prior = pl.col("weight").clip(0, 100) / 100
    inspected, found = pl.col("alone_inspected").fill_null(0), pl.col("alone_found").fill_null(0)
    harm = {d: float(rule.harm) for d, rule in settings.domains.rules.items()}
    asking = (
        signals.filter(pl.col("lane").is_in(["yellow", "red"]) & (pl.col("source") != "random"))
        .join(rates, on="code", how="left")
        .with_columns(
            ((found + m * prior) / (inspected + m)).alias("p"),
            pl.col("domain").replace_strict(harm, default=0.0, return_dtype=pl.Float64).alias("harm"),
        )
        .with_columns((pl.col("alone_tried").fill_null(0) >= settings.proven_after).alias("_measured"))
        .with_columns(
            pl.format("{} {}%{}{}", "code", (pl.col("p") * 100).round(0),
                      pl.when(inspected > 0).then(pl.format(" ({} found in {} inspected on its own)", found, inspected))
                      .otherwise(pl.lit(" (prior)")),
                      pl.when(~pl.col("_measured") & pl.col("_measured").any().over("key"))
                      .then(pl.lit(", not counted beside a measured hit")).otherwise(pl.lit(""))).alias("said")
        )
    )  # fmt: skip
    counted = pl.col("p").filter(pl.col("_measured"))  # a measured record speaks for the stop: a prior beside it
    # (a newly promoted model's band, say) would only inflate it; priors alone are what exploring stops go by
    measured = 1 - (1 - counted).product()
    every, some = pl.col("_measured").all(), pl.col("_measured").any()
    per = asking.group_by("key").agg(
        # proven: on measured records alone, or likely enough on them to stop whatever the other hits say; one
        # that is unlikely on them, beside hits that have no record yet, is a combination nobody measured
        (every | some & (measured >= settings.least_likely)).alias("_proven"),
        pl.when(some).then(measured).otherwise(1 - (1 - pl.col("p")).product()).alias("estimate"),
        pl.col("harm").max().alias("harm"),
        pl.col("domain").sort_by("harm", descending=True).first().alias("harm_domain"),
        pl.col("said").str.join("; ").alias("said"),
        risk_of(areas).alias("_risk"),
    )
    together = (
        signals.filter(pl.col("source").is_in(list(SIGNALS)))
        .group_by("key")
        .agg(pl.col("code").unique().sort().str.join("+").alias("_combination"))
        .join(context.history.combinations.lazy().rename({"signals": "_combination"}), on="_combination", how="left")
    )
    parts = _measured_parts(decisions, together, context, settings)
    together = (
        together.join(parts.lazy(), on="_combination", how="left") if parts is not None
        else together.with_columns(pl.lit(None, pl.String).alias("_part"), pl.lit(None, pl.Int64).alias("_part_found"),
                                   pl.lit(None, pl.Int64).alias("_part_inspected"))
    )  # fmt: skip
    # a combination not measured yet is at least as likely as its likeliest measured part: its record, with the
    # combination's own estimate as the prior
    part_prior = (pl.col("_part_found") + m * pl.col("estimate")) / (pl.col("_part_inspected") + m)
    tried, hit = pl.col("inspected").fill_null(0), pl.col("found").fill_null(0)
    per = (
        per.join(together, on="key", how="left")
        .with_columns(part_prior.fill_null(0.0).alias("_part_prior"))
        .with_columns(pl.max_horizontal("estimate", "_part_prior").alias("estimate"))
        .with_columns(
            ((hit + m * pl.col("estimate")) / (tried + m)).alias("likelihood"),
            (tried + m).alias("_evidence"),  # the inspections the likelihood weighs, its prior's counted as `m`
            (pl.col("_proven") | (pl.col("tried").fill_null(0) >= settings.proven_after)
             | pl.col("_part").is_not_null() & (pl.col("_part_prior") >= settings.least_likely)).alias("_proven"),
            pl.when(pl.col("_part").is_not_null()).then(pl.format(
                "{}; {} of its hits found {} in {} inspected together, so at least {}%", "said",
                pl.col("_part").str.replace_all("+", " and ", literal=True), "_part_found", "_part_inspected",
                (pl.col("_part_prior") * 100).round(0))).otherwise(pl.col("said")).alias("said"),
        )
        .with_columns(
            pl.when(tried > 0).then(pl.format("{}; together {} found in {} inspected", "said", hit, tried))
            .otherwise(pl.col("said")).alias("said"),
        )
    )  # fmt: skip
    return (
        decisions.lazy().join(per, on="key", how="left", maintain_order="left")
        .with_columns(pl.col("likelihood").fill_null(0.0), pl.col("harm").fill_null(0.0),
                      _at_risk(decisions, settings).alias("_at_risk"),
                      pl.col("_proven").fill_null(False), pl.col("_combination").fill_null(""),
                      pl.col("_evidence").fill_null(m))
        .with_columns((pl.col("_at_risk") + pl.col("harm")).alias("stake"))
        .with_columns(
            (pl.col("likelihood") * pl.col("stake")).alias("expected_value"),
            pl.format("{}% likely ({}) x EUR {} at stake (duty and tax at risk EUR {} + {} harm EUR {})",
                      (pl.col("likelihood") * 100).round(0), "said", pl.col("stake").round(2),
                      pl.col("_at_risk").round(2), "harm_domain", pl.col("harm").round(0)).alias("_why"),
        )
        .drop("harm", "harm_domain", "said", "_at_risk", "estimate", "inspected", "found", "tried", "_part",
              "_part_found", "_part_inspected", "_part_prior")
    )  # fmt: skip


PartIndex = dict[frozenset[str], tuple[str, int, int]]
_parts_seen: tuple[pl.DataFrame, int, set[str], PartIndex] | None = None
"""The last records `_measured_index` indexed (the store's, kept for a while by the edge: the same frame batch after
batch), with what it made of them."""


def _measured_index(records: pl.DataFrame, proven_after: int) -> tuple[set[str], PartIndex]:
    """Of the combinations' `records`, those tried `proven_after` times or more, and of them each of two hits or more
    by its set of hits: (its name, found, inspected)."""
    global _parts_seen
    seen = _parts_seen
    if seen is not None and seen[0] is records and seen[1] == proven_after:
        return seen[2], seen[3]
    measured = records.filter(pl.col("tried") >= proven_after).select("signals", "found", "inspected")
    names = set(measured["signals"].to_list())
    index = {frozenset(name.split("+")): (name, int(found), int(inspected))
             for name, found, inspected in measured.iter_rows() if "+" in name}  # fmt: skip
    _parts_seen = (records, proven_after, names, index)
    return names, index


def _measured_parts(decisions: pl.DataFrame, together: pl.LazyFrame, context: Context,
                    settings: Settings) -> pl.DataFrame | None:  # fmt: skip
    """For each combination of hits of the `decisions` (`together`: each one's `_combination`) whose own record is
    not measured yet (tried fewer than `proven_after` times), its likeliest part that is: a combination of two hits
    or more, all of them among its own, tried `proven_after` times or more (`_part`, with its `_part_found` and
    `_part_inspected`); None where the store has measured no such combination.

    A further hit that asks to stop adds evidence to those it joins; it does not take any away. Judged as new,
    every combination a new signal joined was explored a few parcels a day until its own record spoke: the day
    after a targeting model was promoted, its band rode along a seller's record and the seller's low prices,
    together found infringing 13 times in 14, and the 99 parcels of the new combination were 60% likely on the
    hits measured alone, 10 of them tried and the other 89 (97% under-valued) released (pilot seed 4242, day 5)."""
    records = context.history.combinations
    if records.is_empty():
        return None
    names, index = _measured_index(records, settings.proven_after)
    if not index:
        return None
    if decisions.height <= ROW_BY_ROW:  # a single filing: named in Python as `together` names them, not through a
        # query (0.3 ms)
        combinations = {"+".join(sorted({hit["code"] for hit in hits or () if hit and hit["source"] in SIGNALS}))
                        for hits in decisions["signals"].to_list()}  # fmt: skip
    else:
        combinations = set(plans.run(together.select("_combination").unique())["_combination"].to_list())
    rows: list[tuple[str, str, int, int]] = []
    for combination in sorted(combinations):
        codes = combination.split("+")
        if len(codes) < 3 or combination in names:  # a part is two hits or more, and fewer than its own
            continue
        whole = frozenset(codes)
        if 2 ** len(codes) > len(index):  # fewer records than parts to look up: go through the records
            parts = [record for part, record in index.items() if part < whole]
        else:
            parts = [index[part] for size in range(2, len(codes))
                     for part in map(frozenset, itertools.combinations(codes, size)) if part in index]  # fmt: skip
        if parts:  # the likeliest, a small record shrunk toward even
            name, found, inspected = max(sorted(parts), key=lambda r: (r[1] + 1) / (r[2] + 2))  # ties: the first name
            rows.append((combination, name, found, inspected))
    if not rows:
        return None
    return pl.DataFrame(rows, schema={"_combination": pl.String, "_part": pl.String, "_part_found": pl.Int64,
                                      "_part_inspected": pl.Int64}, orient="row")  # fmt: skip


def _at_risk(decisions: pl.DataFrame, settings: Settings) -> pl.Expr:
    """The duty and tax at risk (EUR): the assessed duty and tax, or `tax_at_risk` of the declared value, or of
    the value a detector found missing (`undervalued_eur`), whichever is more."""
    due = pl.col("due_eur").cast(pl.Float64).fill_null(0.0) if "due_eur" in decisions.columns else pl.lit(0.0)
    value = pl.col("value_eur").cast(pl.Float64).fill_null(0.0) if "value_eur" in decisions.columns else pl.lit(0.0)
    gap = pl.col("undervalued_eur").fill_null(0.0) if "undervalued_eur" in decisions.columns else pl.lit(0.0)
    return pl.max_horizontal(due, pl.max_horizontal(value, gap) * settings.tax_at_risk)
