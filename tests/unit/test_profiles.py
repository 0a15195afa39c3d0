"""Risk profiles: the declarative language, its load-time errors and its semantics."""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any

import polars as pl
import pytest

from clearway.bootstrap import load_domains
from clearway.errors import RuleFileError
from clearway.model import validate_raw
from clearway.pipeline import BatchRow, Context, to_batch
from clearway.risk import RuleStage, parse_profiles
from tests.conftest import NOON, example


def profile_file(when: str, *, extra: str = "", action: str = "{lane: red}", domain: str = "fiscal") -> str:
    return (
        textwrap.dedent(
            """\
        profiles:
          - id: P-1
            title: test profile
            basis: test basis
            documentation: check it
            action: %s
        %s
            when:
        %s
        """
        )
        % (action, textwrap.indent(extra, "    "), textwrap.indent(textwrap.dedent(when), "      "))
        + f"    domain: {domain}\n"
    )


def post_file() -> str:
    return profile_file("{field: channel, eq: post}")


def hits(text: str, *docs: dict[str, Any], on: dt.datetime = NOON) -> list[str]:
    """Keys of the consignments the file's profiles hit."""
    stage = RuleStage(parse_profiles(text, "test.yaml", load_domains()))
    rows = []
    for i, d in enumerate(docs):
        consignment = validate_raw(d).consignment
        assert consignment is not None, validate_raw(d).errors
        rows.append(BatchRow(f"k{i}", "sub", NOON, consignment))
    out = stage.run(to_batch(rows), Context(as_of=on))
    return sorted(out.hits["key"].to_list())


def with_item(**fields: Any) -> dict[str, Any]:
    doc = example()
    doc["items"][1].update(fields)
    return doc


class TestLoadErrors:
    def check(self, text: str, line: int, words: str) -> None:
        with pytest.raises(RuleFileError) as caught:
            parse_profiles(text, "profiles.yaml", load_domains())
        assert caught.value.file == "profiles.yaml"
        assert caught.value.line == line, str(caught.value)
        assert words in str(caught.value)
        assert str(caught.value).startswith(f"profiles.yaml:{line}:")

    def test_unknown_field(self) -> None:
        self.check(profile_file("{field: item.colour, eq: red}"), 9, "unknown field 'item.colour'")

    def test_bad_pattern(self) -> None:
        self.check(profile_file("{field: item.description, pattern: '(?<=x)y'}"), 9, "does not compile")

    def test_duplicate_id(self) -> None:
        one = profile_file("{field: channel, eq: post}")
        two = one + "\n".join(one.splitlines()[1:]) + "\n"
        self.check(two, 11, "used twice (first on line 2)")

    def test_operator_that_does_not_fit_the_field(self) -> None:
        self.check(profile_file("{field: channel, gt: 3}"), 9, "operator 'gt' does not apply to channel")

    def test_unknown_operator(self) -> None:
        self.check(profile_file("{field: channel, like: post}"), 9, "unknown operator 'like'")

    def test_two_operators(self) -> None:
        self.check(profile_file("{field: channel, eq: post, ne: cargo}"), 9, "exactly one operator")

    def test_bad_lane_and_missing_agency(self) -> None:
        self.check(profile_file("{field: channel, eq: post}", action="{lane: purple}"), 6, "lane 'purple'")
        self.check(profile_file("{field: channel, eq: post}", action="{referral: oga}"), 6, "names its agency")

    def test_each_profile_declares_a_domain_whose_consequences_it_keeps_to(self) -> None:
        """Issue 20: only security may stop a parcel before loading; dangerous goods go back to the carrier."""
        post = "{field: channel, eq: post}"
        self.check(profile_file(post, domain="tax"), 2, "domain 'tax' is not one of security, safety")
        self.check(profile_file(post, action="{lane: red, referral: dnl}"), 2,
                   "a dnl referral is not the fiscal domain's (it may open: rfi)")  # fmt: skip
        self.check(profile_file(post, action="{referral: screening}", domain="safety"), 2, "not the safety domain's")
        self.check(profile_file(post, action="{lane: yellow}", domain="safety"), 2, "asks for no yellow lane")
        self.check(profile_file(post, extra="mandatory: Customs Code art. 1"), 2, "makes no stop mandatory")
        self.check(profile_file(post, extra="mandatory: ''", domain="prohibitions"), 2, "cites the law")
        text = profile_file(post, action="{referral: carrier}", domain="safety")
        (profile,) = parse_profiles(text, "p.yaml", load_domains()).profiles
        assert (profile.domain, profile.action.referral, profile.mandatory) == ("safety", "carrier", None)
        armed = profile_file(post, action="{lane: red, referral: oga, agency: police}", domain="prohibitions",
                             extra="mandatory: Firearms Act s. 1")  # fmt: skip
        assert parse_profiles(armed, "p.yaml", load_domains()).profiles[0].mandatory == "Firearms Act s. 1"
        without = "\n".join(line for line in post_file().splitlines() if "domain:" not in line) + "\n"
        self.check(without, 2, "profile needs `domain`")

    def test_unknown_profile_key(self) -> None:
        self.check(profile_file("{field: channel, eq: post}", extra="severity: 3"), 2, "unknown profile key 'severity'")

    def test_window_the_wrong_way_round(self) -> None:
        extra = "valid_from: 2026-02-01\nvalid_to: 2026-01-01"
        self.check(profile_file("{field: channel, eq: post}", extra=extra), 2, "valid_to must come after")

    def test_a_date_that_is_none(self) -> None:
        extra = "valid_from: 2026-02-30"  # looks like a date to YAML, but February has no 30th
        self.check(profile_file("{field: channel, eq: post}", extra=extra), 7, "'2026-02-30' is not a date")

    def test_not_yaml(self) -> None:
        self.check("profiles:\n  - id: [unclosed\n", 3, "not valid YAML")

    def test_value_of_the_wrong_kind(self) -> None:
        self.check(profile_file("{field: intrinsic_value, gt: lots}"), 9, "not a number")

    def test_duplicate_key(self) -> None:
        self.check(profile_file("{field: channel, field: currency, eq: post}"), 9, "duplicate key")


class TestSemantics:
    def test_keywords_fold_case_accents_and_punctuation(self) -> None:
        text = profile_file("{field: item.description, keywords: [power bank, batterie lithium]}")
        assert hits(
            text, with_item(description="POWER-BANK 20000mAh"), with_item(description="Batterie Lithium-ion")
        ) == ["k0", "k1"]
        assert hits(text, with_item(description="Powerbanking course book")) == []

    def test_keywords_match_accented_text_in_other_languages(self) -> None:
        text = profile_file("{field: item.description, keywords: [batería de litio, 充电宝]}")
        assert hits(
            text, with_item(description="BATERIA DE LITIO 18650"), with_item(description="便携充电宝 20000")
        ) == ["k0", "k1"]

    def test_prefix_on_hs_codes(self) -> None:
        text = profile_file("{field: item.hs_code, prefix: ['9304', '9306']}")
        assert hits(text, with_item(hs_code="930400"), with_item(hs_code="930630"), with_item(hs_code="930200")) == [
            "k0",
            "k1",
        ]

    def test_decimal_comparisons_are_exact(self) -> None:
        text = profile_file("{field: intrinsic_value, gt: 150}")
        at = example(
            items=[
                {
                    "description": "Blouse",
                    "hs_code": "620610",
                    "quantity": 1,
                    "unit_price": "150.00",
                    "origin_country": "CN",
                }
            ]
        )
        above = example(
            items=[
                {
                    "description": "Blouse",
                    "hs_code": "620610",
                    "quantity": 1,
                    "unit_price": "150.01",
                    "origin_country": "CN",
                }
            ]
        )
        assert hits(text, at, above) == ["k1"]

    def test_between_and_item_value(self) -> None:
        text = profile_file("{field: item.value, between: [16, 20]}")
        assert hits(text, with_item(unit_price="6", quantity=3), with_item(unit_price="6", quantity=5)) == ["k0"]

    def test_all_any_not(self) -> None:
        text = profile_file(
            """\
            all:
              - {field: channel, eq: post}
              - any:
                  - {field: destination_country, in: [DE, FR]}
                  - {field: currency, eq: GBP}
              - not: {field: category, eq: gift}
            """
        )
        assert hits(text, example(), example(destination_country="NL"), example(channel="express")) == ["k0"]

    def test_item_conditions_hold_on_one_and_the_same_item(self) -> None:
        text = profile_file(
            """\
            all:
              - {field: item.hs_code, prefix: '3926'}
              - {field: item.unit_price, gt: 5}
            """
        )
        # the example has a cheap 3926 item and a dear 6109 item: no single item satisfies both
        assert hits(text, example(), with_item(unit_price="9.00")) == ["k1"]

    def test_present(self) -> None:
        text = profile_file("{field: fiscal.id, present: false}")
        assert hits(text, example(), example(fiscal=None)) == ["k1"]

    def test_validity_window_uses_the_as_of_time_not_the_clock(self) -> None:
        text = profile_file("{field: channel, eq: post}", extra="valid_from: 2027-01-01")
        assert hits(text, example(), on=NOON) == []
        assert hits(text, example(), on=dt.datetime(2027, 1, 1, tzinfo=dt.UTC)) == ["k0"]

    def test_hits_carry_the_action_and_the_explanation(self) -> None:
        text = profile_file(
            "{field: channel, eq: post}", action="{lane: yellow, referral: oga, agency: health}", domain="oga"
        )
        stage = RuleStage(parse_profiles(text, "t.yaml", load_domains()))
        consignment = validate_raw(example()).consignment
        assert consignment is not None
        out = stage.run(to_batch([BatchRow("k", "s", NOON, consignment)]), Context(as_of=NOON)).hits
        assert out.select("source", "code", "message", "lane", "referral", "agency", "weight", "domain",
                          "mandatory").rows() == [
            ("rule", "P-1", "test profile", "yellow", "oga", "health", 50.0, "oga", False)
        ]  # fmt: skip

    def test_empty_batch(self) -> None:
        stage = RuleStage(parse_profiles(profile_file("{field: channel, eq: post}"), "t.yaml", load_domains()))
        assert stage.run(to_batch([]), Context(as_of=NOON)).hits.is_empty()


def test_starter_profiles_load_and_each_cites_its_basis() -> None:
    from clearway.bootstrap import load_profiles

    profiles = load_profiles(None).profiles
    assert {p.id for p in profiles} >= {
        "DG-LIB-ALONE",
        "WPN-HS93",
        "NARC-MED",
        "DQ-VAGUE",
        "CF-MARKERS",
        "IOSS-OVER-150",
    }
    assert all(len(p.basis) > 20 and p.documentation for p in profiles)
    assert isinstance(profiles[0].expression, pl.Expr)
    dangerous = [p for p in profiles if p.id.startswith("DG-")]
    assert dangerous and all(
        (p.domain, p.action.lane, p.action.referral) == ("safety", None, "carrier") for p in dangerous
    )  # what the carrier or post may not accept goes back to it and takes no inspection capacity
    assert all(p.domain == "security" for p in profiles if p.action.referral in ("dnl", "screening"))
    assert all(p.domain in ("security", "prohibitions", "oga") for p in profiles if p.mandatory)


def starter_hits(*docs: dict[str, Any]) -> dict[str, list[str]]:
    from clearway.bootstrap import load_profiles

    stage = RuleStage(load_profiles(None))
    rows = [BatchRow(f"k{i}", "s", NOON, validate_raw(d).consignment) for i, d in enumerate(docs)]  # type: ignore[arg-type]
    hits = stage.run(to_batch(rows), Context(as_of=NOON)).hits
    return {k: sorted(hits.filter(pl.col("key") == k)["code"].to_list()) for k in (f"k{i}" for i in range(len(docs)))}


def test_starter_profiles_on_typical_cases() -> None:
    gift_from_platform = example(category="gift", fiscal=None)
    private_gift = example(category="gift", fiscal=None, order=None)
    batteries = with_item(description="18650 rechargeable battery", hs_code="850760", quantity=4)
    vape = with_item(description="Disposable vape 600 puffs", hs_code="240412")
    perfume = with_item(description="Eau de parfum 100ml", hs_code="330300")
    found = starter_hits(gift_from_platform, private_gift, batteries, vape, perfume, example())
    assert found["k0"] == ["FALSE-GIFT"]
    assert found["k1"] == []
    assert "DG-LIB-QTY" in found["k2"] and "DG-LIB-ALONE" in found["k2"]
    assert found["k3"] == ["TOB-NIC"]
    assert found["k4"] == ["DG-FLAMMABLE"]
    assert found["k5"] == []


def test_the_dangerous_goods_profiles_read_the_declared_un_number() -> None:
    # a neutral description and HS code: only the UN number (Consignment v1.1) tells what the goods are
    plain = {"description": "Wooden toy train set", "hs_code": "950300"}
    loose = with_item(**plain, un_number="UN3480")  # lithium ion batteries on their own
    perfume = with_item(**plain, un_number="UN1266")  # perfumery products, flammable
    petrol = with_item(**plain, un_number="UN1203")  # another dangerous good the post refuses
    in_equipment = with_item(**plain, un_number="UN3481")  # installed in equipment: the post takes it
    found = starter_hits(loose, perfume, petrol, in_equipment)
    assert "DG-LIB-ALONE" in found["k0"] and "DG-FLAMMABLE" in found["k1"]
    assert found["k2"] == ["DG-UN-POST"] and found["k3"] == []


def test_a_profile_may_ask_for_any_country_of_routing() -> None:
    text = profile_file("{field: routing_countries, any: [AF, SY]}")
    via = example(routing_countries=["CN", "AF", "DE"])
    assert hits(text, via, example(routing_countries=["CN", "DE"]), example()) == ["k0"]
    assert hits(profile_file("{field: routing_countries, present: false}"), via, example()) == ["k1"]
