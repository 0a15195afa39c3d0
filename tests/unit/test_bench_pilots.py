"""The pilots harness: what it calls a met goal, the interval it puts on a mean over seeds, the runs it refuses."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from bench.pilots import Variant, check, figures, interval, meets_goal, variant

SRC = Path(__file__).resolve().parents[2] / "src"


def _day(listed: float = 1.0, **recall: float) -> dict[str, object]:
    carried = dict.fromkeys([*recall, "watchlisted_party"], 10)
    return {"stop_rate": 0.05, "targeted_precision": 0.8, "found": 400, "demanded": "1234.50",
            "recall": recall | {"watchlisted_party": listed}, "held": {}, "carried": carried}  # fmt: skip


def test_the_goal_holds_at_its_bounds_every_day_and_a_kind_absent_that_day_does_not_count() -> None:
    at_bounds = figures(_day(undervaluation=0.5, misclassification=0.5, split_shipment=0.5, false_gift=0.5))
    assert math.isnan(at_bounds["ioss_misuse"])  # no IOSS misuse carried that day: no recall, not 0
    early = figures(_day(undervaluation=0.1))  # value fraud is judged on the last day only
    assert meets_goal([early, at_bounds])
    assert not meets_goal([early, figures(_day(undervaluation=0.49, misclassification=0.9))])
    assert not meets_goal([early | {"stop_rate": 0.051}, at_bounds])  # the stop rate and precision: every day
    assert not meets_goal([early | {"precision": 0.79}, at_bounds])
    assert not meets_goal([figures(_day(listed=0.9, undervaluation=0.1)), at_bounds])  # a listed party let go
    assert not meets_goal([])
    assert figures(_day())["demanded"] == 1234.5


def test_the_interval_is_students_t_over_the_seeds() -> None:
    spread = interval([0.40, 0.50, 0.60])
    assert spread.mean == pytest.approx(0.5)
    assert spread.half == pytest.approx(4.302653 * 0.1 / math.sqrt(3), rel=1e-5)  # t(0.975, 2) x sd / sqrt(n)
    assert interval([0.4, math.nan]).mean == pytest.approx(0.4) and math.isnan(interval([0.4]).half)
    assert interval([0.40, 0.50, 0.60]).text() == "50% ±25"


def test_a_run_that_could_not_be_compared_is_refused_whole_before_it_starts(tmp_path: Path) -> None:
    """A variant's name is its folder under --out, so it cannot climb out of it; a path without clearway's sources
    would silently run the installed ones; two variants of one name, or a seed given twice, would write one folder
    from two processes."""
    for text in ("../x=src", "a", "=src", "a/b=src"):
        with pytest.raises(SystemExit, match="name=path"):
            variant(text)
    with pytest.raises(SystemExit, match="holds no clearway sources"):
        variant(f"a={tmp_path}")
    assert variant("this") == Variant("this", None)
    assert variant(f"before={SRC}").src == SRC
    with pytest.raises(SystemExit, match="each variant's name once"):
        check([1], 5, 10_000, [Variant("a", None), Variant("a", SRC)], 2)
    with pytest.raises(SystemExit, match=r"--days: at least 1; --size: at least 100.*; --jobs: at least 1"):
        check([1], 0, 5, [Variant("this", None)], 0)
    assert check([3, 1, 3], 5, 10_000, [Variant("this", None)], 2) == [3, 1]
