"""Misclassification: does the description fit the declared HS code? A text model says which chapter it reads as.

The model (hashed character n-grams of normalised descriptions, multinomial naive Bayes) is trained
on the HS 2022 nomenclature texts and on history: the accepted lines it is given (by default the batch
itself, where one wrong line cannot outvote the many right ones of its product). A line is flagged when
its declared chapter is improbable and another is likely.

A vague description ("gift", "spare parts": `codelists.is_vague`) names no goods, so it cannot read as
another chapter than the declared one: it is a data-quality failure, answered by a request for a precise
description (the `DQ-VAGUE` profile; WCO Framework of Standards on Cross-Border E-Commerce, standard 1 as
revised in 2022), not a suspected misclassification. Read as a chapter, such words pick whatever chapter the
trade most often sends them under, and flagged a parcel as misclassified where nothing was learnt about its
goods (pilot seed 4242, day 5: 87 of the 498 parcels this detector flagged carried a vague description and no
misclassification; 72 of them took stops the priority area kept for misclassification).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import polars as pl
from scipy.sparse import csr_matrix

from clearway.model.codelists import is_vague, normalise_text
from clearway.model.identifiers import hs_descriptions
from clearway.pipeline.derived import Derived
from clearway.pipeline.stage import Context, StageOutput, no_hits
from clearway.risk.detectors import detector_hits
from clearway.risk.fields import explode_items

if TYPE_CHECKING:  # scikit-learn is imported where the model is first used: a process that never assesses
    from sklearn.feature_extraction.text import HashingVectorizer  # (the demo's, the CLI's) saves 1.4 s
    from sklearn.naive_bayes import MultinomialNB


@lru_cache(maxsize=1)
def nomenclature() -> tuple[list[str], list[str]]:
    """The HS 2022 subheading texts and their chapters: the model's prior knowledge."""
    pairs = [
        (normalise_text(text), code[:2])
        for code, text in hs_descriptions().items()
        if len(code) == 6 and code[:2] <= "97"
    ]
    return [t for t, _ in pairs], [c for _, c in pairs]


N_FEATURES = 2**15
"""Hashed n-gram features of the text model."""


@lru_cache(maxsize=1)
def vectorizer() -> HashingVectorizer:
    """Hashed character n-grams of a normalised description (stateless: made once, on first use)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char_wb", ngram_range=(3, 4), n_features=N_FEATURES, alternate_sign=False, norm="l2"
    )  # stateless: the nomenclature is vectorised once and each batch only transforms its own lines


CHAPTERS = [f"{c:02d}" for c in range(1, 98) if c != 77]  # HS chapter 77 is reserved
KNOWN_CHAPTERS = frozenset(CHAPTERS)


@lru_cache(maxsize=1)
def nomenclature_model() -> MultinomialNB:
    """Naive Bayes fitted once on the nomenclature texts; batches and history are added to copies."""
    from sklearn.naive_bayes import MultinomialNB

    texts, chapters = nomenclature()
    model = MultinomialNB(alpha=0.05)
    model.partial_fit(vectorizer().transform(texts), chapters, classes=CHAPTERS)
    return model


@lru_cache(maxsize=1)
def _nomenclature_totals() -> np.ndarray:
    """Per chapter, the sum of the nomenclature model's feature counts (the smoothing denominator's base)."""
    return np.asarray(nomenclature_model().feature_count_.sum(axis=1)).ravel()


@dataclass(frozen=True)
class HsTextModel:
    """The nomenclature model plus history, kept as the history's own counts beside it rather than in a copy
    of it: reading sums the two over just the n-grams the texts use. The probabilities are those of the
    nomenclature model refitted on the history (multinomial naive Bayes, additive smoothing), at a fraction
    of the cost of copying its dense count matrix for every batch."""

    feature_counts: csr_matrix  # chapters x features: the history's weighted n-gram counts
    class_counts: np.ndarray  # per chapter: the history's weighted line counts

    @classmethod
    def train(
        cls,
        texts: list[str],
        chapters: list[str],
        *,
        history_weight: float = 3.0,
        matrix: csr_matrix | None = None,
        counts: list[int] | None = None,
    ) -> HsTextModel:
        """The nomenclature model plus (text, chapter) history, each history line counting `history_weight` times
        (times `counts`, where identical lines were grouped)."""
        base = nomenclature_model()
        index = {c: i for i, c in enumerate(base.classes_)}
        known = [i for i, c in enumerate(chapters) if c in KNOWN_CHAPTERS]
        weights = np.array([history_weight * (counts[i] if counts else 1) for i in known], dtype=float)
        membership = csr_matrix(
            (weights, ([index[chapters[i]] for i in known], np.arange(len(known)))),
            shape=(len(base.classes_), len(known)),
        )  # chapters x lines, weighted
        if not known:
            return cls(csr_matrix((len(base.classes_), N_FEATURES)), np.zeros(len(base.classes_)))
        features = vectorizer().transform(texts) if matrix is None else matrix
        extra = membership @ features[known]
        return cls(csr_matrix(extra), np.asarray(membership.sum(axis=1)).ravel())

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in nomenclature_model().classes_]

    def proba(self, matrix: csr_matrix) -> np.ndarray:
        """P(chapter | text) for each row of `matrix` (texts x features)."""
        base = nomenclature_model()
        used = np.unique(matrix.indices)
        alpha = base.alpha
        counts = base.feature_count_[:, used] + self.feature_counts[:, used].toarray()
        totals = _nomenclature_totals() + np.asarray(self.feature_counts.sum(axis=1)).ravel()
        log_theta = np.log(counts + alpha) - np.log(totals + alpha * N_FEATURES)[:, None]
        classes = base.class_count_ + self.class_counts
        with np.errstate(divide="ignore"):  # a chapter never seen has prior 0: log 0 is -inf, as it should be
            log_prior = np.log(classes) - np.log(classes.sum())
        joint = np.asarray(matrix[:, used] @ log_theta.T) + log_prior
        joint -= joint.max(axis=1, keepdims=True)
        odds = np.exp(joint)
        return np.asarray(odds / odds.sum(axis=1, keepdims=True))

    def read(
        self, texts: list[str], declared: list[str], matrix: csr_matrix | None = None
    ) -> tuple[list[float], list[str], list[float]]:
        """For each text: the probability of its declared chapter, the likeliest chapter and its probability."""
        proba = self.proba(vectorizer().transform(texts) if matrix is None else matrix)
        names = self.classes
        classes = {c: i for i, c in enumerate(names)}
        top = proba.argmax(axis=1)
        p_declared = [float(proba[row, classes[c]]) if c in classes else 0.0 for row, c in enumerate(declared)]
        return p_declared, [names[i] for i in top], [float(p) for p in proba.max(axis=1)]


LEARN_FROM = 50
"""Lines a model learns the trade's words from, beside the nomenclature's: recent accepted history, once it
holds this many (a seller's lines of one description count once); then a single filing and a bulk one are
read alike, and a batch's own misdeclared lines do not teach the model that they are right. Before, a
batch's own lines, if it has this many."""


def _trained_on(texts: pl.DataFrame) -> HsTextModel:
    return HsTextModel.train(texts["text"].to_list(), texts["chapter"].to_list(), counts=texts["n"].to_list())


_HISTORY_MODELS: Derived[HsTextModel] = Derived()
"""The model of each history's TEXTS frame: trained once for as long as the gatherer keeps that history."""


@dataclass(frozen=True)
class MisclassificationDetector:
    """Flags lines whose description reads as another chapter than the one declared."""

    model: HsTextModel | None = None  # None: learn from the history's TEXTS (a young store's: from each batch)
    improbable: float = 0.05
    likely: float = 0.5
    name: str = "misclassification"

    def warm(self) -> None:
        """Fit the nomenclature model now (about 0.6 s), not on the first batch."""
        nomenclature_model()
        _nomenclature_totals()

    def run(self, batch: pl.DataFrame, context: Context) -> StageOutput:
        items = explode_items(batch, {"item.description"}).filter(
            pl.col("item.hs_code").is_not_null() & (pl.col("item.description~norm").str.len_chars() > 2)
        )
        if items.is_empty():  # no line with a code and a description to read
            return StageOutput(no_hits())
        model = self.model
        if model is None and int(context.history.texts["n"].sum()) >= LEARN_FROM:  # the trade's words, as
            model = _HISTORY_MODELS.of(context.history.texts, _trained_on)  # accepted history has them
        if model is None and items.height < LEARN_FROM:  # a young store, and too little to learn from
            return StageOutput(no_hits())
        lines = items.select(
            pl.col("item.description~norm").alias("text"), pl.col("item.hs_code").str.slice(0, 2).alias("chapter")
        )
        distinct = lines.group_by("text", "chapter").len()  # descriptions repeat: learn and read each once
        texts, declared = distinct["text"].to_list(), distinct["chapter"].to_list()
        matrix = vectorizer().transform(texts)
        model = model or HsTextModel.train(texts, declared, matrix=matrix, counts=distinct["len"].to_list())
        p_declared, top, p_top = model.read(texts, declared, matrix)
        verdicts = distinct.select("text", "chapter").with_columns(
            pl.Series("p_declared", p_declared),
            pl.Series("top", top),
            pl.Series("p_top", p_top),
            pl.Series("vague", [is_vague(text) for text in texts], dtype=pl.Boolean),  # reads as no chapter
        )
        frame = (
            items.select("key", "item.description", "item.hs_code", pl.col("item.description~norm").alias("text"))
            .with_columns(pl.col("item.hs_code").str.slice(0, 2).alias("chapter"))
            .join(verdicts, on=["text", "chapter"], how="left", maintain_order="left")
        )
        flagged = (
            frame.filter((pl.col("p_declared") < self.improbable) & (pl.col("p_top") >= self.likely) & ~pl.col("vague"))
            .filter(pl.col("top") != pl.col("item.hs_code").str.slice(0, 2))
            .unique("key", keep="first", maintain_order=True)
            .with_columns(
                pl.format(
                    "{} declared under HS {} but reads as chapter {} ({}%; the declared chapter {}%)",
                    pl.col("item.description"),
                    "item.hs_code",
                    "top",
                    (pl.col("p_top") * 100).round(0),
                    (pl.col("p_declared") * 100).round(1),
                ).alias("message")
            )  # fmt: skip
        )
        return StageOutput(detector_hits(flagged, "DET-MISCLASS", "yellow", "rfi", 45.0, "fiscal"))
