"""Classifier metrics: ROC-AUC, precision-recall, thresholds at a precision, F1,
calibration curve and recall per bin; the network's ranking of a simulated sector.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from transitflow.dataset import LabelledSet
from transitflow.signals import TRAINING_LABELS

#: Precisions at which the model card gives the recall and threshold.
CARD_PRECISIONS = (0.8, 0.9, 0.95, 0.99)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); NaN without both classes."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = y.sum(), (~y).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    _, inverse, counts = np.unique(score, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[inverse]
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def precision_recall_curve(y: np.ndarray,
                           score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall of ``score >= threshold`` at each distinct score, highest first.

    Returns
    -------
    precision, recall, thresholds : numpy.ndarray
    """
    y, score = np.asarray(y, dtype=bool), np.asarray(score)
    order = np.argsort(-score, kind="stable")
    ranked = score[order]
    last = np.flatnonzero(np.append(np.diff(ranked) != 0, True))
    tp = np.cumsum(y[order])[last]
    precision = tp / (last + 1.0)
    recall = tp / y.sum() if y.any() else np.zeros(len(tp))
    return precision, recall, ranked[last]


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall curve (step-wise, as sklearn); NaN without positives."""
    if not np.any(y):
        return float("nan")
    precision, recall, _ = precision_recall_curve(y, score)
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def threshold_at_precision(y: np.ndarray, score: np.ndarray, target: float) -> float:
    """The highest-recall score threshold whose precision reaches ``target``.

    When no threshold reaches it, the threshold of highest precision.
    """
    precision, recall, thresholds = precision_recall_curve(y, score)
    reached = np.flatnonzero(precision >= target)
    if len(reached) == 0:
        return float(thresholds[np.argmax(precision)])
    return float(thresholds[reached[np.argmax(recall[reached])]])


def threshold_at_false_alarm(y: np.ndarray, score: np.ndarray, rate: float) -> float:
    """The lowest score threshold that at most the share ``rate`` of the negatives (``y``
    0) reach: just above the negative ranked ``floor(rate n) + 1`` from the top, so that
    tied negatives stay out together; the lowest score when ``rate`` admits them all."""
    score = np.asarray(score, dtype=float)
    negatives = np.sort(score[np.asarray(y) == 0])[::-1]
    allowed = int(np.floor(rate * len(negatives) + 1e-9))
    if allowed >= len(negatives):
        return float(score.min())
    return float(np.nextafter(negatives[allowed], np.inf))


def recall_at_precision(y: np.ndarray, score: np.ndarray, target: float) -> float:
    """Highest recall at a threshold with precision >= ``target`` (0 when none)."""
    precision, recall, _ = precision_recall_curve(y, score)
    reached = precision >= target
    return float(recall[reached].max()) if reached.any() else 0.0


def f1_score(y: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of boolean predictions (0 when there are no positives at all)."""
    y, predicted = np.asarray(y, dtype=bool), np.asarray(predicted, dtype=bool)
    tp = np.sum(y & predicted)
    denominator = y.sum() + predicted.sum()
    return float(2 * tp / denominator) if denominator else 0.0


def evaluate(data: LabelledSet, score: np.ndarray, threshold: float) -> dict:
    """Metrics of scores at ``threshold``, with each class's score distribution."""
    y = data.y
    predicted = score >= threshold
    true_positives = np.sum(predicted & (y == 1))
    quantiles = (5, 25, 50, 75, 95)
    classes = {}
    for label in TRAINING_LABELS:
        selected = score[data.label == label]
        if len(selected):
            classes[label] = {"n": int(len(selected)),
                              "fraction_above_threshold": float(np.mean(selected >= threshold)),
                              "quantiles": dict(zip(map(str, quantiles),
                                                    np.percentile(selected, quantiles).tolist()))}
    metrics = {
        "n": int(len(y)),
        "roc_auc": roc_auc(y, score),
        "pr_auc": average_precision(y, score),
        "f1": f1_score(y, predicted),
        "precision": float(true_positives / max(predicted.sum(), 1)),
        "recall": float(true_positives / max(y.sum(), 1)),
        **{f"recall_at_{round(100 * p)}_precision": recall_at_precision(y, score, p)
           for p in CARD_PRECISIONS},
    }
    return {**{k: v if np.isfinite(v) else None for k, v in metrics.items()},
            "class_scores": classes}


def calibration_curve(y: np.ndarray, score: np.ndarray, bins: int = 10) -> list[dict]:
    """Observed planet fraction against mean score, in equal-width score bins (reliability
    diagram); empty bins are left out."""
    y = np.asarray(y, dtype=bool)
    index = np.minimum((np.asarray(score) * bins).astype(int), bins - 1)
    return [{"score_low": b / bins, "score_high": (b + 1) / bins, "n": int(np.sum(index == b)),
             "mean_score": float(np.mean(score[index == b])),
             "planet_fraction": float(np.mean(y[index == b]))}
            for b in range(bins) if np.any(index == b)]


def recall_by_bin(value: np.ndarray, found: np.ndarray, edges: tuple[float, ...],
                  name: str) -> list[dict]:
    """The share of ``found`` in each bin ``[edges[i], edges[i + 1])`` of ``value``."""
    rows = []
    for low, high in zip(edges[:-1], edges[1:]):
        chosen = (value >= low) & (value < high)
        rows.append({f"{name}_low": low, f"{name}_high": high if np.isfinite(high) else None,
                     "n": int(chosen.sum()),
                     "recall": float(np.mean(found[chosen])) if chosen.any() else None})
    return rows


def planet_truth(keys: pd.Series, labels: pd.DataFrame,
                 truth: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per light curve of ``keys`` of a simulated sector (its ``labels`` and ``truth``
    tables): whether it is labelled planet, whether its strongest planet has SNR >= 10, and
    that planet's number of events in the data."""
    label = labels.set_index("key")["label"]
    planets = truth[truth["sim_class"] == "planet"]
    strongest = planets.sort_values("snr").drop_duplicates("key", keep="last").set_index("key")
    planet = (keys.map(label) == "planet").to_numpy()
    snr = keys.map(strongest["snr"]).fillna(0.0).to_numpy()
    events = keys.map(strongest["n_events_in_data"]).fillna(0).to_numpy()
    return planet, planet & (snr >= 10), events


def sector_ranking(scores: pd.DataFrame, labels: pd.DataFrame, truth: pd.DataFrame,
                   threshold: float, gate_threshold: float) -> dict[str, float]:
    """How the network's ``scores`` (``key``, ``score``) rank a simulated sector's planets:
    planet-vs-rest ROC-AUC (all planets; with those of SNR >= 10 ranked first, and its
    bound for a ranker that sees no fainter one; SNR >= 10 planets, and those with 2+
    transits, against every non-planet), and the SNR >= 10 planets (2+ transits; single)
    and non-planets at or above the model card's ``threshold`` and its ``gate_threshold``
    (``detect.policy: network``)."""
    planet, bright, events = planet_truth(scores["key"], labels, truth)
    score = scores["score"].to_numpy()
    counted = (bright & (events >= 2)) | ~planet
    return {"roc_auc": roc_auc(planet, score),
            "roc_auc_bright_first": roc_auc(planet, np.where(bright, np.inf, score)),
            "roc_auc_bound": float((bright.sum() + 0.5 * (planet & ~bright).sum())
                                   / planet.sum()),
            "roc_auc_snr10": roc_auc(planet[bright | ~planet], score[bright | ~planet]),
            "roc_auc_snr10_2plus": roc_auc(planet[counted], score[counted]),
            "recall_2plus": float(np.mean(score[bright & (events >= 2)] >= threshold)),
            "recall_single": float(np.mean(score[bright & (events == 1)] >= threshold)),
            "non_planets_above": float(np.mean(score[~planet] >= threshold)),
            "gate_recall_2plus": float(np.mean(score[bright & (events >= 2)] >= gate_threshold)),
            "gate_non_planets_above": float(np.mean(score[~planet] >= gate_threshold))}
