"""`python -m bench system|intake|ledger|risk|screening|api|openloop|model|fairness|alerts|manifests|money|alone|
grown|pilots`: figures, printed (no time is asserted)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.intake import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="suite", required=True)
    intake = sub.add_parser("intake", help="decode+validate, storage on SQLite and PostgreSQL, the demo path")
    intake.add_argument("--size", type=int, default=20_000, help="consignments (default 20000)")
    intake.add_argument("--seed", type=int, default=99)
    intake.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL rows")
    ledger = sub.add_parser("ledger", help="appends per second and proof generation at 10 million leaves")
    ledger.add_argument("--size", type=int, default=10_000_000, help="leaves in the tree (default 10,000,000)")
    ledger.add_argument(
        "--stored", type=int, default=100_000, help="events appended through the store (default 100,000)"
    )
    risk = sub.add_parser("risk", help="recall and precision per injected violation, throughput with every stage on")
    risk.add_argument("--size", type=int, default=20_000, help="consignments per seed (default 20000)")
    risk.add_argument("--seeds", type=int, nargs="+", default=[101, 202], help="simulator seeds not used for tuning")
    risk.add_argument("--stop-rate", type=float, default=0.05, help="also measure at this yellow+red share (0.05)")
    screening = sub.add_parser("screening", help="clearway's matcher on our own benchmark, tuned and held-out seeds")
    screening.add_argument("--size", type=int, default=2000, help="listed entities (default 2000)")
    screening.add_argument("--per-class", type=int, default=60, help="variants per perturbation class")
    screening.add_argument("--negatives", type=int, default=1500, help="namesakes and random names")
    screening.add_argument("--seeds", type=int, nargs=2, default=[1, 2], help="the tuning seed, the held-out seed")
    screening.add_argument("--large", type=int, default=0, help="also load a synthetic list of this many entities")
    screening.add_argument("--nomenklatura", action="store_true", help="beside nomenklatura logic-v2 (slow)")
    model = sub.add_parser("model", help="the targeting model stage beside LightGBM's bare predict")
    model.add_argument("--size", type=int, default=20_000, help="consignments (default 20000)")
    api = sub.add_parser("api", help="the service over loopback: bulk and single submissions, SQLite and PostgreSQL")
    api.add_argument("--size", type=int, default=20_000, help="consignments sent in bulk (default 20000)")
    api.add_argument("--singles", type=int, default=500, help="single submissions, sequential and concurrent")
    api.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    fairness = sub.add_parser("fairness", help="one tenant floods with bulk batches, another sends singles")
    fairness.add_argument("--size", type=int, default=20_000, help="consignments the flood cycles through")
    fairness.add_argument("--singles", type=int, default=600, help="the quiet tenant's requests (half alone)")
    fairness.add_argument("--every", type=float, default=0.1, help="seconds between the quiet tenant's requests")
    fairness.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    fairness.add_argument(
        "--tenant-rate", type=float, nargs="*", default=[], help="also run with these consignments/s per tenant"
    )
    system = sub.add_parser("system", help="one table: every step of the system beside its floor")
    system.add_argument("--size", type=int, default=20_000, help="consignments (default 20000)")
    system.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    alerts = sub.add_parser("alerts", help="partners' risk alerts on a day the partner never saw, and their cost")
    alerts.add_argument("--size", type=int, default=10_000, help="parcels a day (default 10000)")
    alerts.add_argument("--seeds", type=int, nargs="+", default=[31337, 2718], help="world seeds")
    alerts.add_argument("--share", type=float, default=0.05, help="share of its day the partner inspects")
    manifests = sub.add_parser("manifests", help="one manifest of a day's parcels arrived in one transaction")
    manifests.add_argument("--size", type=int, default=9_500, help="parcels filed (default 9500)")
    manifests.add_argument("--extra", type=int, default=500, help="houses with no filing (default 500)")
    manifests.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    money = sub.add_parser("money", help="a payment file matched to a day's payables")
    money.add_argument("--size", type=int, default=5_000, help="parcels assessed (default 5000)")
    money.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    openloop = sub.add_parser("openloop", help="single submissions at fixed rates from an open-loop generator")
    openloop.add_argument("--rates", type=float, nargs="+", default=[50, 100, 200, 300, 400], help="requests/s")
    openloop.add_argument("--seconds", type=float, default=10, help="seconds at each rate (default 10)")
    openloop.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    alone = sub.add_parser("alone", help="a day filed one parcel a call beside the same day in bulk")
    alone.add_argument("--history", type=int, default=8_000, help="parcels of accepted history first (default 8000)")
    alone.add_argument("--singles", type=int, default=1_500, help="parcels of the next day (default 1500)")
    alone.add_argument("--seeds", type=int, nargs="+", default=[7100, 7200], help="simulator seeds not used for tuning")
    grown = sub.add_parser("grown", help="a batch and a single filing as the store grows")
    grown.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000], help="parcels stored first")
    grown.add_argument("--per-parcel", type=float, default=4.0, help="inspections recorded a parcel stored")
    grown.add_argument("--batch", type=int, default=1_000, help="parcels of the batch timed (default 1000)")
    grown.add_argument("--singles", type=int, default=30, help="single filings timed (default 30)")
    grown.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    pilots = sub.add_parser("pilots", help="the pilot over several worlds: means with intervals, variants paired")
    pilots.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[5150, 31337, 27182, 90210, 8675309, 60606],
        help="world seeds, none used for tuning (default: the six of issue 20's notes)",
    )
    pilots.add_argument("--days", type=int, default=5, help="days of each world (default 5)")
    pilots.add_argument("--size", type=int, default=10_000, help="parcels a day (default 10000)")
    pilots.add_argument("--jobs", type=int, default=2, help="pilots at a time (default 2)")
    pilots.add_argument("--src", action="append", default=[], metavar="NAME=PATH",
                        help="a variant: a clearway source tree (its src folder); repeat to compare, the first is "
                        "the base (default: this checkout's, as 'this')")  # fmt: skip
    pilots.add_argument("--out", type=Path, default=None, help="folder for each seed's report (default: a temp one)")
    args = parser.parse_args(argv)
    if args.suite == "pilots":
        from bench.pilots import Variant, variant
        from bench.pilots import run as run_pilots

        chosen = [variant(text) for text in args.src] or [Variant("this", None)]
        run_pilots(args.seeds, args.days, args.size, chosen, args.jobs, args.out)
        return
    if args.suite == "grown":
        from bench.grown import run as run_grown

        run_grown(args.sizes, args.per_parcel, args.batch, args.singles, postgres=not args.no_postgres)
        return
    if args.suite == "alone":
        from bench.alone import run as run_alone

        run_alone(args.history, args.singles, args.seeds)
        return
    if args.suite == "openloop":
        from bench.openloop import run as run_openloop

        run_openloop(args.rates, args.seconds, postgres=not args.no_postgres)
        return
    if args.suite == "money":
        from bench.money import run as run_money

        run_money(args.size, postgres=not args.no_postgres)
        return
    if args.suite == "manifests":
        from bench.manifests import run as run_manifests

        run_manifests(args.size, args.extra, postgres=not args.no_postgres)
        return
    if args.suite == "alerts":
        from bench.alerts import run as run_alerts

        run_alerts(args.size, args.seeds, args.share)
        return
    if args.suite == "fairness":
        from bench.fairness import run as run_fairness

        rates: list[float | None] = [None, *args.tenant_rate]
        run_fairness(args.size, args.singles, args.every, postgres=not args.no_postgres, rates=rates)
    elif args.suite == "system":
        from bench.system import run as run_system

        run_system(args.size, postgres=not args.no_postgres)
    elif args.suite == "intake":
        run(args.size, args.seed, postgres=not args.no_postgres)
    elif args.suite == "screening":
        from bench.screening import run as run_screening

        run_screening(args.size, args.per_class, args.negatives, tuple(args.seeds), args.large, args.nomenklatura)
    elif args.suite == "risk":
        from bench.risk import run as run_risk

        run_risk(args.size, args.seeds, args.stop_rate)
    elif args.suite == "model":
        from bench.model import run as run_model

        run_model(args.size)
    elif args.suite == "api":
        from bench.api import run as run_api

        run_api(args.size, args.singles, postgres=not args.no_postgres)
    elif args.suite == "ledger":
        from bench.ledger import run as run_ledger

        run_ledger(args.size, args.stored)


if __name__ == "__main__":
    main(sys.argv[1:])
