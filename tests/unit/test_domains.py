"""Issue 20: risk domains and selectivity settings are data; a bad file fails at load with its line, never
at run time (an officer activating edited settings gets the message, not a 500)."""

from __future__ import annotations

import pytest

from clearway.bootstrap import DOMAINS, SELECTIVITY, load_domains, load_selectivity, packaged_text
from clearway.errors import RuleFileError
from clearway.risk.domains import parse_domains


def test_the_shipped_domains_cite_their_basis_and_keep_do_not_load_for_security() -> None:
    domains = load_domains()
    assert all(len(rule.basis) > 40 for rule in domains.rules.values())
    assert [d for d, rule in domains.rules.items() if "dnl" in rule.referrals] == ["security"]
    assert domains["safety"].lanes == frozenset() and domains["safety"].referrals == frozenset({"carrier"})
    assert domains.harm("security") > domains.harm("prohibitions") > domains.harm("fiscal") > 0
    assert domains["fiscal"].refuses("red", "dnl", False) == (
        "a dnl referral is not the fiscal domain's (it may open: rfi)"
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (("  oga:\n", "  customs:\n"), "unknown domain 'customs'"),
        (("harm: 1000", "harm: -5"), "harm is an amount in EUR, zero or more"),
        (("harm: 1000", "harm: lots"), "harm is an amount in EUR"),
        (("    referrals: [dnl, screening]", "    referrals: [dnl, telepathy]"), "referrals are a list of"),
        (("    mandatory: true\n    harm: 1000", "    mandatory: maybe\n    harm: 1000"), "mandatory is true or false"),
    ],
)
def test_a_bad_domains_file_names_what_is_wrong(change: tuple[str, str], words: str) -> None:
    text = packaged_text(DOMAINS).replace(*change, 1)
    with pytest.raises(RuleFileError) as caught:
        parse_domains(text, "domains.yaml")
    assert words in str(caught.value) and caught.value.file == "domains.yaml"


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ("capacity: {yellow: 0.03, red: 0.015, minimum: 50}", "capacity: 5", "capacity takes yellow, red"),
        ("minimum: 50", "minimum: -1", "capacity minimum is a whole number"),
        ("explore_share: 0.2", "explore_share: 2", "explore_share and least_likely at most 1"),
        ("proven_after: 10", "proven_after: ten", "expected_value settings are numbers"),
        ("per_party: 3", "per_party: 0", "per_party a whole number, one or more"),
        ("per_party: 3", "per_party: 2.5", "per_party a whole number, one or more"),
        ("per_party: 3", "per_party: true", "per_party a whole number, one or more"),
        ("least_likely: 0.5", "least_likely: 1.5", "explore_share and least_likely at most 1"),
        ("least_likely: 0.5", "least_likely: -0.1", "expected_value settings are numbers, zero or more"),
        ("half_life_days: 3", "half_life_days: -3", "half_life_days 0 for records that never fade"),
        ("half_life_days: 3", "half_life_days: soon", "expected_value settings are numbers"),
        ("hit_rate_floor: 0.1", "hit_rate_floor: high", "review takes hit_rate_floor"),
    ],
)
def test_bad_selectivity_settings_are_refused_with_their_line(old: str, new: str, words: str) -> None:
    text = packaged_text(SELECTIVITY)
    assert old in text
    with pytest.raises(RuleFileError) as caught:
        load_selectivity(text.replace(old, new), "edited")
    assert words in str(caught.value) and str(caught.value).startswith("edited:")
