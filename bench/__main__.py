"""`python -m bench intake [--size N]`: consignments per second for each step, beside its floor."""

from __future__ import annotations

import argparse
import sys

from bench.intake import run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="suite", required=True)
    intake = sub.add_parser("intake", help="decode+validate, storage on SQLite and PostgreSQL, the demo path")
    intake.add_argument("--size", type=int, default=20_000, help="consignments (default 20000)")
    intake.add_argument("--seed", type=int, default=99)
    intake.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL rows")
    args = parser.parse_args(argv)
    if args.suite == "intake":
        run(args.size, args.seed, postgres=not args.no_postgres)


if __name__ == "__main__":
    main(sys.argv[1:])
