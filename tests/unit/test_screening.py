"""Watch-list screening: normalisation, matching, qualifiers, list formats and the pipeline stage."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from clearway.bootstrap import load_watchlist
from clearway.errors import RuleFileError
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.risk.names import normalise
from clearway.risk.screening import (
    Entity,
    Match,
    ScreeningStage,
    WatchList,
    parse_consequences,
    parse_csv_list,
    parse_delta_lines,
    parse_ftm_lines,
)
from tests.unit.test_detectors import DAY, row

LIST = WatchList(
    (
        Entity("E1", "Shenzhen Redline Electronics Co., Ltd.", ("Redline Electronics",), frozenset({"CN"})),
        Entity("E2", "Viktor Sergeyevich Orlov", ("Виктор Сергеевич Орлов",), frozenset({"RU"}), "1971-04-12"),
        Entity(
            "E3",
            "Golden Crescent Trading Co., Ltd.",
            ("金新月贸易有限公司",),
            frozenset({"CN"}),
            None,
            frozenset({"uscc:91440300MA5ABCDE1X"}),
        ),
        Entity("E4", "Kim Jong Su", ("김종수",), frozenset({"KP"})),
    )
)


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("Shenzhen Rеdline Electronics Co., Ltd.", "shenzhen redline electronics"),  # Cyrillic е folded
        ("VIKTOR  ORLOV", "viktor orlov"),
        ("Виктор Орлов", "viktor orlov"),
        ("Müller GmbH & Co. KG", "muller"),  # the legal form as rigour knows it
        ("ＡＣＭＥ　Ｔｒａｄｉｎｇ", "acme trading"),  # full-width forms (NFKC); `trading` weighs what the list says
        ("Dr. Ahmed Al\u200bSayed", "ahmed alsayed"),  # a title, an invisible character
        ("G0lden R0ad Ltd", "golden road"),  # digits read as letters
        ("Golden Road Holdings cO. lTD.", "golden road holdings"),  # a legal form written without its comma
    ],
)
def test_normalisation(raw: str, normal: str) -> None:
    assert " ".join(normalise(raw)) == normal


@pytest.mark.parametrize(
    ("query", "country", "entity"),
    [
        ("Shenzhen Rеdline Electronics", "CN", "E1"),  # homoglyph
        ("REDLINE ELECTRONICS LIMITED", None, "E1"),  # alias, legal form, case
        ("Orlov Viktor", "RU", "E2"),  # order, dropped middle name
        ("Viktor Orlow", None, "E2"),  # spelling
        ("Виктор Орлов", None, "E2"),  # script
        ("金新月贸易有限公司", "CN", "E3"),  # Chinese alias
        ("KIMJONGSU", None, "E4"),  # collapsed spacing
    ],
)
def test_variants_are_found(query: str, country: str | None, entity: str) -> None:
    found = LIST.screen(query, country)
    assert found and found[0].entity_id == entity, found
    assert found[0].explanation


@pytest.mark.parametrize(
    "query", ["Shenzhen Nova Electronics Co., Ltd.", "Golden Lotus Technology", "Anna Schmidt", "Viktor Petrov"]
)
def test_other_names_are_not(query: str) -> None:
    assert LIST.screen(query, "CN") == []


def test_qualifiers() -> None:
    same = LIST.screen("Viktor Orlow", "RU")[0].score
    other = LIST.screen("Viktor Orlow", "DE")
    assert not other or other[0].score < same
    assert "country DE is not RU" in (other[0].explanation if other else "country DE is not RU")
    by_id = LIST.screen("Someone Else", None, identifiers=("uscc:91440300MA5ABCDE1X",))
    assert by_id[0].entity_id == "E3" and by_id[0].score == 100.0


def test_plain_csv_and_followthemoney_lists() -> None:
    csv_text = "id,name,aliases,country,birth_date,identifiers\nX1,Acme Trading Ltd,Acme;ACME Co,GB,,vat:GB980780684\n"
    [acme] = parse_csv_list(csv_text, "l.csv")
    assert acme.aliases == ("Acme", "ACME Co") and acme.countries == {"GB"}
    ftm = json.dumps({"id": "NK-1", "schema": "Person", "properties": {"name": ["Ivan Petrov"], "alias": ["I. Petrov"],
                      "nationality": ["ru"], "birthDate": ["1960-01-01"], "passportNumber": ["123"]}})  # fmt: skip
    [ivan] = parse_ftm_lines(ftm + "\n", "l.jsonl")
    assert (ivan.name, ivan.aliases, ivan.countries, ivan.identifiers) == (
        "Ivan Petrov",
        ("I. Petrov",),
        {"RU"},
        {"123"},
    )
    with pytest.raises(RuleFileError, match="l.csv:1"):
        parse_csv_list("name,id\n", "l.csv")
    with pytest.raises(RuleFileError, match="l.jsonl:2"):
        parse_ftm_lines(ftm + "\n{not json\n", "l.jsonl")


def test_the_stage_holds_the_parcel_and_says_who_matched() -> None:
    listed = row("a", "10.00", seller={"name": "Redline Electronics", "address": {"city": "Shenzhen", "country": "CN"}})
    clean = row("b", "10.00")
    hits = ScreeningStage(LIST).run(to_batch([listed, clean]), Context(as_of=DAY)).hits
    assert hits["key"].to_list() == ["a"]
    assert hits.row(0, named=True) | {"message": ""} == {
        "key": "a", "source": "screening", "code": "E1", "message": "", "lane": "red", "referral": None, "agency": None,
        "weight": 100.0, "domain": "security", "mandatory": True,
    }  # fmt: skip
    assert hits["message"][0].startswith("seller matches watch-list entry E1 (Redline Electronics), score 100.0")
    assert isinstance(hits, pl.DataFrame) and isinstance(listed, BatchRow)


def test_each_parcel_names_every_party_that_matched_once_per_entry() -> None:
    """A name recurring through the batch is found on each of its parcels, and one entry matched by two parties
    of a parcel is one hit naming both; hits follow the batch's order."""
    redline = {"name": "Redline Electronics", "address": {"city": "Shenzhen", "country": "CN"}}
    sanctioned = {"name": "Sanctioned Person One", "address": {"city": "Riga", "country": "LV"}}
    listed = WatchList((*LIST.entities, Entity("S1", "Sanctioned Person One", topics=frozenset({"sanction"}))))
    batch = to_batch([
        row("a", "10.00", seller=redline), row("b", "10.00"), row("c", "10.00", seller=redline, consignor=redline),
        row("d", "10.00", seller=redline, consignee=sanctioned),
    ])  # fmt: skip
    hits = ScreeningStage(listed).run(batch, Context(as_of=DAY)).hits
    assert list(zip(hits["key"], hits["code"], strict=True)) == [("a", "E1"), ("c", "E1"), ("d", "E1"), ("d", "S1")]
    assert [m.split(" matches")[0] for m in hits["message"]] == ["seller", "seller", "seller", "consignee"]


NAMES = WatchList(
    (
        Entity("K1", "KOZLOV, Pavel"), Entity("M1", "MARTÍNEZ, Diego Héctor"), Entity("M2", "MARTÍNEZ, Diego"),
        Entity("G1", "Golden Road Import Export LLC"), Entity("G2", "Global Pacific Trading Co., Ltd"),
        Entity("Z1", "KUZNETSOV, Sergei Ivan"), Entity("R1", "REZAEI, Abbas"),
        Entity("S1", "Sanctioned Person One", topics=frozenset({"sanction"})),
        Entity("P1", "Dmitri Exemplarov", topics=frozenset({"role.pep"})),
        *(Entity(f"F{n}", f"Filler{n} Trading Holdings Group") for n in range(30)),  # common words weigh little
    )
)  # fmt: skip


def test_a_name_inside_a_longer_one_is_never_a_perfect_match() -> None:
    """Issue 19: `KOZLOV, Roman Pavel` scored 100 against `KOZLOV, Pavel`; the listed `MARTÍNEZ, Diego` lost."""
    kozlov = NAMES.screen("KOZLOV, Roman Pavel")
    assert kozlov[0].entity_id == "K1" and kozlov[0].outcome == "possible" and kozlov[0].score < 88
    assert "unmatched roman" in kozlov[0].explanation
    martinez = NAMES.screen("MARTINEZ, Diego")
    assert [m.entity_id for m in martinez][:2] == ["M2", "M1"] and martinez[0].score == 100.0


@pytest.mark.parametrize(
    "query",
    ["Golden Road Holdings Group", "Global Pacific Industrial Corporation", "IVANOV, Sergei"],
)
def test_shared_generic_words_or_given_names_are_not_a_match(query: str) -> None:
    assert all(m.outcome != "match" for m in NAMES.screen(query)), NAMES.screen(query)


def test_vowel_dropped_and_phonetic_spellings_are_found() -> None:
    assert NAMES.screen("Gldn Rd Imprt Exprt")[0].entity_id == "G1"
    assert NAMES.screen("Sergey Kuznetsoff Ivan")[0].entity_id == "Z1"


def test_topics_decide_the_consequence() -> None:
    consequences = parse_consequences(
        "default: stop\ntopics:\n  sanction: {consequence: stop}\n  role.pep: {consequence: inform}\n", "t.yaml"
    )
    stage = ScreeningStage(NAMES, consequences=consequences)
    batch = to_batch([
        row("s", "10.00", seller={"name": "Sanctioned Person One", "address": {"city": "X", "country": "CN"}}),
        row("p", "10.00", seller={"name": "Dmitri Exemplarov", "address": {"city": "X", "country": "CN"}}),
        row("k", "10.00", seller={"name": "Pavel Roman Kozlov", "address": {"city": "X", "country": "CN"}}),
    ])  # fmt: skip
    hits = {h["key"]: h for h in stage.run(batch, Context(as_of=DAY)).hits.iter_rows(named=True)}
    assert hits["s"]["lane"] == "red" and "[sanction]" in hits["s"]["message"]
    assert hits["p"]["lane"] is None and "for information" in hits["p"]["message"]  # a PEP informs, no stop
    assert hits["k"]["lane"] == "yellow" and "possibly matches" in hits["k"]["message"]  # an officer confirms
    assert f"list {NAMES.version}" in hits["s"]["message"]
    with pytest.raises(RuleFileError, match="stop` or `inform"):
        parse_consequences("topics:\n  sanction: hold\n", "t.yaml")


def test_the_plain_list_may_carry_topics() -> None:
    text = "id,name,aliases,country,birth_date,identifiers,topics\nX1,Acme Ltd,,GB,,,sanction;export.control\n"
    assert parse_csv_list(text, "l.csv")[0].topics == {"sanction", "export.control"}


def test_a_delta_adds_changes_and_removes_entities() -> None:
    delta = "\n".join(
        json.dumps(line)
        for line in (
            {"op": "ADD", "entity": {"id": "N1", "schema": "Person", "properties": {"name": ["Ivor Newlisted"]}}},
            {"op": "MOD", "entity": {"id": "E4", "schema": "Person", "properties": {"name": ["Kim Jong Su"],
                                                                                    "topics": ["role.pep"]}}},
            {"op": "DEL", "entity": {"id": "E2"}},
        )
    )  # fmt: skip
    updated = LIST.updated(*parse_delta_lines(delta, "d.jsonl"))
    assert updated.version != LIST.version
    assert updated.screen("Ivor Newlisted")[0].entity_id == "N1"
    assert updated.screen("Kim Jong Su")[0].topics == {"role.pep"}
    assert updated.screen("Viktor Orlov") == [] and LIST.screen("Viktor Orlov")  # removed from the new one only
    with pytest.raises(RuleFileError, match="d.jsonl:1"):
        parse_delta_lines('{"op": "SWAP", "entity": {}}', "d.jsonl")


def test_a_recurring_name_is_screened_once_and_a_new_list_screens_it_afresh() -> None:
    class Counting(WatchList):
        asked: list[str] = []

        def screen(self, name: str, *args: object, **kwargs: object) -> list[Match]:  # type: ignore[override]
            Counting.asked.append(name)
            return super().screen(name, *args, **kwargs)  # type: ignore[arg-type]

    seller = {"name": "Ivor Newlisted", "address": {"city": "Leeds", "country": "GB"}}
    batch = to_batch([row("a", "10.00", seller=seller), row("b", "10.00", seller=seller)])
    stage = ScreeningStage(Counting(LIST.entities))
    assert stage.run(batch, Context(as_of=DAY)).hits.is_empty()
    assert stage.run(batch, Context(as_of=DAY)).hits.is_empty()  # the next batch: the same seller
    assert Counting.asked.count("Ivor Newlisted") == 1
    listed = Counting((*LIST.entities, Entity("N1", "Ivor Newlisted", (), frozenset({"GB"}))))
    hits = ScreeningStage(listed).run(batch, Context(as_of=DAY)).hits  # the list changed: the stage is rebuilt
    assert hits["key"].to_list() == ["a", "b"] and set(hits["code"]) == {"N1"}


def test_every_screened_consignment_records_the_list_version() -> None:
    output = ScreeningStage(LIST).run(to_batch([row("a", "10.00"), row("b", "10.00")]), Context(as_of=DAY))
    assert output.columns is not None and output.columns["screened_with"].to_list() == [LIST.version] * 2


SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def _surname(n: int) -> str:
    return "".join(SYLLABLES[(n // 70**i) % 70] for i in range(3)).capitalize() + "ski"


def _crowded_list(size: int) -> WatchList:
    """Persons who share given names, each with a surname of three syllables of its own: a typo in the surname
    leaves only the given names, which thousands share, to find it by."""
    given = ["Anna", "Maria", "Peter", "Omar", "Reza", "Ivan", "Lucia", "Diego"]
    return WatchList(tuple(Entity(f"P{n}", f"{given[n % 8]} {given[(n // 8) % 8]} {_surname(n)}") for n in range(size)))


def test_a_typo_in_the_rarest_part_still_finds_the_entity_on_a_crowded_list() -> None:
    crowded = _crowded_list(20_000)
    target = crowded.entities[12_345]
    surname = target.name.split()[-1]
    typo = target.name.replace(surname, surname[:2] + ("x" if surname[2] != "x" else "q") + surname[3:])
    found = crowded.screen(typo)  # one consonant wrong: another sound, another skeleton
    assert found and found[0].entity_id == target.id, (typo, found[:3])


def test_equal_scores_put_the_name_written_in_the_same_order_first() -> None:
    both = WatchList((Entity("A", "Mateo Valentina Lopez"), Entity("B", "Valentina Mateo Lopez")))
    assert [m.entity_id for m in both.screen("Valentina Mateo Lopez")] == ["B", "A"]
    assert [m.entity_id for m in both.screen("Mateo Valentina Lopez")] == ["A", "B"]


def test_an_unknown_abbreviation_does_not_outweigh_a_name_on_a_long_list() -> None:
    crowded = WatchList((*_crowded_list(5_000).entities, Entity("C1", "Velirbosiant Resources FZE")))
    found = crowded.screen("Vlrbsnt Rsrcs FZ")  # vowels dropped, the legal form with them
    assert found and found[0].entity_id == "C1", found[:2]


def test_a_list_file_is_read_line_by_line_and_bad_bytes_are_a_clear_error(tmp_path: Path) -> None:
    good = tmp_path / "list.ftm.json"
    good.write_text(json.dumps({"id": "NK-1", "schema": "Person", "properties": {"name": ["Ivan Petrov"]}}) + "\n")
    assert load_watchlist(good).screen("Ivan Petrov")[0].entity_id == "NK-1"
    bad = tmp_path / "bad.ftm.json"
    bad.write_bytes(b'{"id": "X", "properties": {"name": ["\xff\xfe"]}}\n')
    with pytest.raises(RuleFileError, match="not UTF-8"):
        load_watchlist(bad)
