"""How well a ranking finds infringements when customs can inspect only the top n%: precision, recall
and revenue (duty at risk found) at n%, and the area under the ROC curve."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import roc_auc_score

SHARES = (0.01, 0.02, 0.05, 0.10)


def _top(scores: np.ndarray, share: float) -> np.ndarray:
    """Indices of the `share` highest scores (at least one); ties broken by position, so runs repeat."""
    k = max(1, math.ceil(share * len(scores)))
    return np.argsort(-scores, kind="stable")[:k]


def precision_at(scores: np.ndarray, labels: np.ndarray, share: float) -> float:
    return float(labels[_top(scores, share)].mean())


def recall_at(scores: np.ndarray, labels: np.ndarray, share: float) -> float:
    total = labels.sum()
    return float(labels[_top(scores, share)].sum() / total) if total else math.nan


def revenue_at(scores: np.ndarray, labels: np.ndarray, at_risk: np.ndarray, share: float) -> float:
    """Share of the duty at risk on all infringing rows that inspecting the top `share` would find."""
    found = at_risk * labels
    total = found.sum()
    return float(found[_top(scores, share)].sum() / total) if total else math.nan


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    return float(roc_auc_score(labels, scores)) if 0 < labels.sum() < len(labels) else math.nan


def report(scores: np.ndarray, labels: np.ndarray, at_risk: np.ndarray) -> dict[str, float]:
    """Every figure, named `precision@5%` and so on."""
    out = {"auc": auc(scores, labels)}
    for share in SHARES:
        n = f"{share:.0%}"
        out[f"precision@{n}"] = precision_at(scores, labels, share)
        out[f"recall@{n}"] = recall_at(scores, labels, share)
        out[f"revenue@{n}"] = revenue_at(scores, labels, at_risk, share)
    return out
