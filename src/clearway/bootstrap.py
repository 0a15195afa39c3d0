"""The composition root: builds the engine, store and pipeline from settings; nothing happens at import."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cache, partial
from importlib import resources
from pathlib import Path

from clearway.accounts.owed import Terms
from clearway.clearance.policy import ClearancePolicy, parse_policy
from clearway.errors import RuleFileError
from clearway.pipeline import Pipeline, Stage
from clearway.revenue import RevenueContext
from clearway.revenue.packaged import load_revenue
from clearway.revenue.stage import RevenueStage
from clearway.risk import ProfileSet, RuleStage, parse_profiles
from clearway.risk.alerts import AlertDetector
from clearway.risk.amendments import AmendedValueDetector
from clearway.risk.classification import MisclassificationDetector
from clearway.risk.detectors import (
    BrandFloor,
    CounterfeitDetector,
    SplitShipmentDetector,
    UndervaluationDetector,
    parse_brand_floors,
)
from clearway.risk.domains import Domains, parse_domains
from clearway.risk.exports import ExportMismatchDetector
from clearway.risk.filings import FilingsDetector
from clearway.risk.offenders import RepeatOffenderDetector
from clearway.risk.party_keys import consignment_party_keys
from clearway.risk.screening import (
    Consequences,
    ScreeningStage,
    WatchList,
    parse_consequences,
    parse_csv_list,
    parse_delta_lines,
    parse_ftm_lines,
)
from clearway.risk.selectivity import Settings as SelectivitySettings
from clearway.risk.selectivity import apply as apply_selectivity
from clearway.risk.selectivity import parse_settings as parse_selectivity
from clearway.settings import Settings
from clearway.store import Store, make_engine, upgrade
from clearway.store import config as config_store
from clearway.store.engine import Engine
from clearway.store.keyfile import load_secret
from clearway.store.ledger import Ledger, Policy, load_or_create_key
from clearway.targeting.model import TargetingModel
from clearway.targeting.stage import ModelStage

STARTER_PROFILES = "profiles/starter.yaml"


@dataclass
class App:
    """Everything a use case needs; `pipeline` and `profiles` are swapped when an officer activates new ones."""

    settings: Settings
    store: Store
    profiles: ProfileSet
    pipeline: Pipeline
    ledger: Ledger
    revenue: RevenueContext
    secret: bytes  # the administration's secret: token signing, keyed party hashes
    policy: ClearancePolicy  # immediate release, referral time limits, service levels
    selectivity: SelectivitySettings | None = None
    watchlist: WatchList | None = None
    model: TargetingModel | None = None
    caches: dict[str, object] = field(default_factory=dict)  # what services keep between calls, by name

    def rebuild(self, profiles: ProfileSet | None = None, selectivity: SelectivitySettings | None = None) -> Pipeline:
        """The pipeline with other profiles or selectivity settings, the rest as configured."""
        return build_pipeline(
            profiles or self.profiles, self.revenue, selectivity or self.selectivity, self.watchlist, self.model,
            self.settings.explore, load_consequences(self.settings.screening_topics),
        )  # fmt: skip


def profiles_text(path: Path | None) -> tuple[str, str]:
    """The text of a profile file (or of the packaged starter profiles) and its name for messages."""
    if path is None:
        return packaged_text(f"clearway/data/{STARTER_PROFILES}"), f"clearway/data/{STARTER_PROFILES}"
    return path.read_text(encoding="utf-8"), str(path)


def load_profiles(path: Path | None) -> ProfileSet:
    """Read a profile file (or the packaged starter profiles) and compile it."""
    return parse_profiles(*profiles_text(path), load_domains())


DOMAINS = "clearway/data/risk/domains.yaml"


@cache
def load_domains() -> Domains:
    """What each risk domain may cause, its harm weight and legal basis (packaged data)."""
    return parse_domains(packaged_text(DOMAINS), DOMAINS)


def load_brand_floors() -> tuple[BrandFloor, ...]:
    return parse_brand_floors(
        packaged_text("clearway/data/risk/brand_floors.csv"), "clearway/data/risk/brand_floors.csv"
    )


SELECTIVITY = "clearway/data/risk/selectivity.yaml"


def packaged_text(path: str) -> str:
    """A packaged data file by its `clearway/data/...` path."""
    folder, name = path.removeprefix("clearway/").rsplit("/", 1)
    return resources.files("clearway." + folder.replace("/", ".")).joinpath(name).read_text(encoding="utf-8")


def load_selectivity(text: str | None = None, source: str = SELECTIVITY) -> SelectivitySettings:
    """Selectivity settings (the packaged ones, or `text`), with the packaged AEO registry."""
    registry = packaged_text("clearway/data/risk/aeo.csv")
    return parse_selectivity(text if text is not None else packaged_text(SELECTIVITY), registry, source, load_domains())


def load_policy() -> ClearancePolicy:
    return parse_policy(packaged_text("clearway/data/clearance/policy.yaml"), "clearway/data/clearance/policy.yaml")


def load_watchlist(path: Path) -> WatchList:
    """A watch list file: FollowTheMoney JSON lines (.json, .jsonl, .ndjson, .ftm), read line by line, or the
    plain CSV."""
    if path.suffix.lower() == ".csv":
        return parse_watchlist(path.read_text(encoding="utf-8"), str(path))
    try:
        with path.open(encoding="utf-8") as lines:
            return WatchList(parse_ftm_lines(lines, str(path)))
    except UnicodeDecodeError as exc:
        raise RuleFileError(f"not UTF-8 text: {exc}", file=str(path)) from exc


def parse_watchlist(text: str, source: str) -> WatchList:
    """A watch list's text, its format told by the name it came from (.csv, else FollowTheMoney lines)."""
    if source.lower().endswith(".csv"):
        return WatchList(parse_csv_list(text, source))
    return WatchList(parse_ftm_lines(text, source))


SCREENING_TOPICS = "clearway/data/risk/screening_topics.yaml"


def load_consequences(path: Path | None = None) -> Consequences:
    """What a screening result means by topic: the administration's file, else the packaged one."""
    if path is not None:
        return parse_consequences(path.read_text(encoding="utf-8"), str(path))
    return parse_consequences(packaged_text(SCREENING_TOPICS), SCREENING_TOPICS)


def build_pipeline(
    profiles: ProfileSet,
    revenue: RevenueContext | None = None,
    selectivity: SelectivitySettings | None = None,
    watchlist: WatchList | None = None,
    model: TargetingModel | None = None,
    explore: float = 0.0,
    consequences: Consequences | None = None,
) -> Pipeline:
    """Rules first; with revenue data, the detectors (which read its thresholds and rates) and the
    assessment; with selectivity settings, capacity, random selection and AEO treatment last."""
    stages: list[Stage] = [RuleStage(profiles)]
    if watchlist is not None:
        stages.append(ScreeningStage(watchlist, consequences=consequences or load_consequences()))
    if revenue is not None:
        stages += [
            SplitShipmentDetector(revenue.rules),
            CounterfeitDetector(load_brand_floors(), revenue.rates),
            UndervaluationDetector(revenue.rates),
            AmendedValueDetector(revenue.rules, revenue.rates),
            MisclassificationDetector(),
            RepeatOffenderDetector(),
            ExportMismatchDetector(revenue.rates),
            AlertDetector(revenue.rates),
            FilingsDetector(revenue.rates),
            RevenueStage(revenue),
        ]
    if model is not None:
        stages.append(ModelStage(model, explore=explore))
    if selectivity is None:
        return Pipeline(stages=tuple(stages))
    return Pipeline(stages=tuple(stages), finish=partial(apply_selectivity, settings=selectivity))


def champion(engine: Engine) -> TargetingModel | None:
    """The targeting model last promoted in this store (it takes precedence over CLEARWAY_MODEL)."""
    stored = config_store.latest(engine, "model")
    return TargetingModel.from_bytes(base64.b64decode(stored[1])) if stored else None


def bootstrap(
    settings: Settings, *, migrate: bool = True, profiles: ProfileSet | None = None, watchlist: Path | None = None
) -> App:
    """Build the App; `watchlist` overrides the configured list (the demo screens its simulated one)."""
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    profiles = profiles or load_profiles(settings.profiles)
    revenue = load_revenue(settings.tariff, settings.customs_rates)
    key = load_or_create_key(settings.ledger_key, settings.ledger_origin)
    ledger = Ledger(engine, key, Policy(settings.checkpoint_every, settings.checkpoint_seconds))
    listed = watchlist or settings.watchlist
    screened = load_watchlist(listed) if listed else None
    if screened is not None and settings.watchlist_delta is not None and settings.watchlist_delta.exists():
        delta = settings.watchlist_delta
        screened = screened.updated(*parse_delta_lines(delta.read_text(encoding="utf-8"), str(delta)))
    selectivity = load_selectivity()
    model = champion(engine) or (TargetingModel.from_bytes(settings.model.read_bytes()) if settings.model else None)
    consequences = load_consequences(settings.screening_topics)
    pipeline = build_pipeline(profiles, revenue, selectivity, screened, model, settings.explore, consequences)
    secret = load_secret(settings.secret_key or settings.ledger_key.with_name("secret.key"))
    terms = {rule.id: Terms.of(rule) for rule in revenue.rules.rules}
    store = Store(engine, partial(consignment_party_keys, secret), terms.get)
    return App(
        settings, store, profiles, pipeline, ledger, revenue, secret, load_policy(), selectivity, screened, model
    )
