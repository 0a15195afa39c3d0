"""The parties' record, kept where it can be searched: the party keys of every parcel ever seized or found
infringing on inspection (or audit).

Every batch, a single filing too, reads its parties' earlier seizures and infringements
(`risk_history.offenders`). Searched through `party_keys`, that read visited every parcel its parties ever
sent, nearly all of them clean, so a seller's filings grew dearer with each parcel it sent: 4.3 s of the
assessor's 33 s on a demo day of 100,000 parcels from recurring sellers. The parcels that matter are marked
here when the store keeps what makes them matter (a seizure, an infringing inspection); whether a marked
parcel still counts (it is still seized, or an inspection still says so) is read from the parcel when the
record is read, so a mark never needs taking back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from clearway.store import tables as t
from clearway.store.bulk import chunked

_o, _p = t.party_offences.c, t.party_keys.c


def mark(conn: sa.Connection, consignment_ids: Sequence[str]) -> None:
    """Record these parcels' party keys among the offences (once: a parcel marked again is left as it is), in
    the caller's transaction. Call it wherever a parcel is seized or an infringing finding is kept."""
    insert: Any = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(t.party_offences)
    for chunk in chunked(sorted(set(consignment_ids))):
        parties = sa.select(_p.consignment_id, _p.role, _p.key).where(_p.consignment_id.in_(chunk))
        conn.execute(insert.from_select(["consignment_id", "role", "key"], parties).on_conflict_do_nothing())


_c, _i = t.consignments.c, t.inspections.c
OFFENCES = (
    sa.select(_o.role, _o.key, _c.id, _c.status, _c.updated_at)
    .join(t.consignments, _c.id == _o.consignment_id)
    .where(
        _o.key.in_(sa.bindparam("keys", expanding=True)),
        sa.or_(_c.status == "seized", sa.exists().where(_i.consignment_id == _c.id, _i.outcome == "infringement")),
    )
)
"""The marked parcels of the party keys given (`keys`) that still count, each checked against its own
inspections: (role, key, id, status, updated_at). Built once: every batch, a single filing too, runs it, and
building it cost about as much as running it."""
