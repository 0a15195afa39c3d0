"""The misclassification detector: a description that reads as another chapter than the one declared."""

from __future__ import annotations

import polars as pl

from clearway.pipeline import Context, History, to_batch
from clearway.pipeline.history import TEXTS
from clearway.risk.classification import HsTextModel, MisclassificationDetector, nomenclature
from tests.unit.test_detectors import DAY, row


def test_the_nomenclature_alone_knows_common_goods() -> None:
    texts, chapters = nomenclature()
    assert len(texts) > 5000 and set(chapters) >= {"61", "64", "85", "95"}
    model = HsTextModel.train([], [])
    _, top, _ = model.read(["t shirts of cotton knitted", "footwear with outer soles of rubber"], ["61", "64"])
    assert top == ["61", "64"]


def test_a_line_declared_under_another_chapter_is_flagged_and_explained() -> None:
    honest = [row(f"s{i}", "12.00", hs="610910", description="Cotton T-shirt men printed") for i in range(40)]
    honest += [row(f"p{i}", "3.00", hs="392690", description="Phone case silicone") for i in range(40)]
    wrong = row("x", "12.00", hs="392690", description="Cotton T-shirt men printed")
    hits = MisclassificationDetector().run(to_batch([*honest, wrong]), Context(as_of=DAY)).hits
    assert hits["key"].to_list() == ["x"]
    assert hits["message"][0].startswith("Cotton T-shirt men printed declared under HS 392690 but reads as chapter 61")
    assert hits.select("lane", "referral").row(0) == ("yellow", "rfi")


def test_small_batches_are_left_alone_while_history_is_too_short_to_learn_from() -> None:
    few = [row("x", "12.00", hs="392690", description="Cotton T-shirt men printed")]
    assert MisclassificationDetector().run(to_batch(few), Context(as_of=DAY)).hits.is_empty()
    short = Context(as_of=DAY, history=History(texts=_texts([("cotton t shirt men printed", "61", 49)])))
    assert isinstance(MisclassificationDetector().run(to_batch(few), short).hits, pl.DataFrame)
    assert MisclassificationDetector().run(to_batch(few), short).hits.is_empty()


def _texts(rows: list[tuple[str, str, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=TEXTS, orient="row")


ACCEPTED = _texts([("cotton t shirt men printed", "61", 40), ("phone case silicone", "39", 40)])


def test_a_single_filing_is_read_with_accepted_history_as_it_would_be_in_bulk() -> None:
    """A platform that files parcel by parcel gets the check a bulk filer gets: the same verdict for the same
    line, whatever else came in its batch."""
    wrong = row("x", "12.00", hs="392690", description="Cotton T-shirt men printed")
    context = Context(as_of=DAY, history=History(texts=ACCEPTED))
    alone = MisclassificationDetector().run(to_batch([wrong]), context).hits
    assert alone["key"].to_list() == ["x"] and alone["message"][0].startswith(
        "Cotton T-shirt men printed declared under HS 392690 but reads as chapter 61"
    )
    crowd = [row(f"p{i}", "3.00", hs="392690", description="Cotton T-shirt men printed") for i in range(60)]
    in_bulk = MisclassificationDetector().run(to_batch([*crowd, wrong]), context).hits
    assert "x" in in_bulk["key"].to_list()  # sixty parcels declaring it so do not teach the model that it is
    assert alone.drop("key").row(0) == in_bulk.filter(pl.col("key") == "x").drop("key").row(0)


def test_a_batch_with_no_line_to_read_has_no_hits() -> None:
    bare = [row("x", "12.00", hs="392690", description="#*#")]  # no word in it to read
    context = Context(as_of=DAY, history=History(texts=ACCEPTED))
    assert MisclassificationDetector().run(to_batch(bare), context).hits.is_empty()


def test_history_counts_beside_the_model_read_as_the_refitted_model_would() -> None:
    """The cheap path (history counts kept beside the nomenclature model) must give the very probabilities
    of a copy of the model refitted on the history with scikit-learn."""
    import copy

    import numpy as np

    from clearway.risk.classification import nomenclature_model, vectorizer

    texts = ["cotton t shirt printed", "phone case silicone", "wireless earbuds bluetooth", "cotton t shirt printed"]
    chapters = ["61", "39", "85", "39"]
    matrix = vectorizer().transform(texts)
    refitted = copy.deepcopy(nomenclature_model())
    refitted.partial_fit(matrix, chapters, sample_weight=np.array([3.0, 6.0, 3.0, 3.0]))
    ours = HsTextModel.train(texts, chapters, matrix=matrix, counts=[1, 2, 1, 1])
    assert ours.classes == list(refitted.classes_)
    assert np.abs(ours.proba(matrix) - refitted.predict_proba(matrix)).max() < 1e-12


def test_a_warmed_pipeline_has_fitted_the_nomenclature_model_before_its_first_batch() -> None:
    """An assessor's process warms its pipeline while it boots: the first batch then waits for no model fit."""
    from clearway.pipeline import Pipeline
    from clearway.risk.classification import nomenclature_model

    nomenclature_model.cache_clear()
    Pipeline([MisclassificationDetector()]).warm()
    assert nomenclature_model.cache_info().currsize == 1
    Pipeline([]).warm()  # a pipeline without such a stage warms nothing, and does not fail


def test_a_vague_description_is_no_evidence_of_another_chapter() -> None:
    """A description of "spare parts" names no goods: the trade may send it mostly under one chapter, but a
    parcel declaring it under another is a description to ask about (the data-quality profile's request for
    information), not a suspected misclassification taking the stops kept for those."""
    history = History(texts=_texts([("spare parts", "87", 60), ("cotton t shirt men printed", "61", 40),
                                     ("phone case silicone", "39", 40)]))  # fmt: skip
    vague = row("v", "30.00", hs="851713", description="Spare parts")
    wrong = row("x", "12.00", hs="392690", description="Cotton T-shirt men printed")
    hits = MisclassificationDetector().run(to_batch([vague, wrong]), Context(as_of=DAY, history=history)).hits
    assert hits["key"].to_list() == ["x"]
