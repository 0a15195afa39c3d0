"""The command line's Typer apps: the root and one per command group (the modules beside register on them)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="clearway: clearance of cross-border e-commerce parcels.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
ledger_app = typer.Typer(
    help="The trust ledger: key, checkpoints, offline proofs and the witness.", no_args_is_help=True
)
app.add_typer(ledger_app, name="ledger")
clients_app = typer.Typer(help="API clients: submitters, officers, agencies.", no_args_is_help=True)
app.add_typer(clients_app, name="clients")
model_app = typer.Typer(help="The targeting model: train, score, evaluate.", no_args_is_help=True)
app.add_typer(model_app, name="model")
history_app = typer.Typer(help="History as Parquet partitions, for backtests.", no_args_is_help=True)
app.add_typer(history_app, name="history")
exports_app = typer.Typer(help="Export records: partners' loaded, ours issued.", no_args_is_help=True)
app.add_typer(exports_app, name="exports")
retention_app = typer.Typer(help="Retention of personal data.", no_args_is_help=True)
app.add_typer(retention_app, name="retention")
partners_app = typer.Typer(help="Partner administrations: keys, agreements, endpoints.", no_args_is_help=True)
app.add_typer(partners_app, name="partners")
alerts_app = typer.Typer(help="Risk alerts exchanged with partners: issue, export, load, pull.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
aeo_app = typer.Typer(help="Authorised operators exchanged under mutual recognition.", no_args_is_help=True)
app.add_typer(aeo_app, name="aeo")
manifest_app = typer.Typer(
    help="Manifests: masters with their houses, their arrival, reconciliation.", no_args_is_help=True
)
app.add_typer(manifest_app, name="manifest")
payments_app = typer.Typer(help="Payments to customs: record one, import a CSV or camt.053 file.", no_args_is_help=True)
app.add_typer(payments_app, name="payments")
accounts_app = typer.Typer(help="Deferred accounts and guarantees, and their monthly statements.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
appeals_app = typer.Typer(help="Appeals against decisions and demands: list, review, decide.", no_args_is_help=True)
app.add_typer(appeals_app, name="appeals")
tax_app = typer.Typer(
    help="What customs tells the tax agency: the month's imports, the referrals.", no_args_is_help=True
)
app.add_typer(tax_app, name="tax")
