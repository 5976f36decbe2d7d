"""Detection thresholds from the inverted light curves, and the policy that picks the light
curves for the in-depth search."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from transitflow.detect.config import DetectConfig
from transitflow.flag_summary import DETECTION_PATHS, EVENT_PATHS, SEARCH_PATHS
from transitflow.lightcurve import STITCHED_SECTOR

#: Nulls expected above the periodic and single-event thresholds under which those rest on
#: too few nulls to hold their false-alarm rate (the summary's ``warning``).
MIN_NULLS_ABOVE = 5


def null_thresholds(detections: pd.DataFrame, config: DetectConfig) -> dict:
    """Detection thresholds from the inverted light curves at ``false_alarms_per_10k``
    (``edge_false_alarms_per_10k`` for the edge events).

    The periodic statistic of a light curve is its SNR where its SDE reaches ``min_sde``
    (else 0); its threshold is the null quantile at ``1 - rate``, never below ``min_snr``.
    The single-event SNR and the edge-event SNR (a dip reaching into the edges of the data,
    which the others leave out) likewise, each never below ``min_single_snr``. A light curve
    is detected when a statistic exceeds its threshold. Returns the thresholds
    (``<path>_snr``), the number of nulls and how many of them exceed each threshold
    (``null_<path>_passing``, the measured rate).
    """
    nulls = detections[(detections["copy"] == "inverted") & (detections["status"] == "ok")]
    rates = {**dict.fromkeys(SEARCH_PATHS, config.false_alarms_per_10k / 10_000),
             "edge": config.edge_false_alarms_per_10k / 10_000}
    statistics = _statistics(nulls, config.min_sde)
    floors = {"periodic": config.min_snr, "single": config.min_single_snr,
              "edge": config.min_single_snr}
    thresholds = {f"{path}_snr": max(floors[path], _upper_quantile(statistics[path], rates[path]))
                  for path in SEARCH_PATHS}
    return {**thresholds, "min_sde": config.min_sde, "nulls": len(nulls),
            **{f"null_{path}_passing": int((statistics[path] > thresholds[f"{path}_snr"]).sum())
               for path in SEARCH_PATHS}}


def _statistics(rows: pd.DataFrame, min_sde: float) -> dict[str, np.ndarray]:
    """Per search path, its statistic: the periodic SNR where SDE >= ``min_sde`` (else 0),
    the single-event and the edge-event SNR; NaN as 0."""
    if missing := [f"{path}_snr" for path in EVENT_PATHS if f"{path}_snr" not in rows]:
        raise ValueError(f"the detection tables lack {', '.join(missing)}: an older transitflow "
                         "wrote them; run the detect jobs again (snakemake --forcerun detect)")
    periodic = np.where(rows["sde"].to_numpy() >= min_sde, rows["snr"].to_numpy(), 0.0)
    return {"periodic": np.nan_to_num(periodic),
            **{path: np.nan_to_num(rows[f"{path}_snr"].to_numpy()) for path in EVENT_PATHS}}


def _upper_quantile(values: np.ndarray, rate: float) -> float:
    """The value exceeded by a fraction ``rate`` of ``values`` (0 if there are none)."""
    return float(np.quantile(values, 1.0 - rate, method="higher")) if len(values) else 0.0


def select_for_search(scores: pd.DataFrame | None, detections: pd.DataFrame | None,
                      network_rule: Callable[[pd.DataFrame], tuple[pd.DataFrame, dict]],
                      config: DetectConfig) -> tuple[pd.DataFrame, dict]:
    """Which light curves go on to the in-depth search, and why (``config.policy``).

    Parameters
    ----------
    scores : network scores per light curve (:func:`transitflow.infer.score_shard` rows), or
        None under the ``search`` policy.
    detections : :func:`detect_shard` rows of all shards, or None under ``network``.
    network_rule : flags scored light curves (:func:`transitflow.infer.flag_scores` with the
        threshold settled), returning the flagged table and its summary.
    config : the policy and the false-alarm rate of the thresholds.

    Returns
    -------
    table : one row per light curve: ``key``, ``tic``, ``sector``, ``score`` (NaN without a
        network), ``status``/``reason`` of scoring, ``model_id``, ``network_flag``, the
        detection statistics as ``detect_*`` columns, ``flagged`` (goes on to the search) and
        ``detected_by`` ("network", "periodic", "single", "edge", "sectors" (a light curve joining
        a star's sectors, one of them raised) joined by "+", or "").
    summary : the rule, counts per path, thresholds, nulls and expected false alarms.
    """
    needs = {"union": "scores and detections", "network": "scores", "search": "detections"}
    given = " and ".join(name for name, table in (("scores", scores), ("detections", detections))
                         if table is not None)
    if given != needs[config.policy]:
        raise ValueError(f"detect.policy {config.policy} needs {needs[config.policy]}, "
                         f"got {given or 'neither'}")
    if scores is not None:
        table, summary = network_rule(scores)
        table = table.rename(columns={"flagged": "network_flag"})
    else:
        data = detections[detections["copy"] == "data"]
        table = data[["key", "tic", "sector"]].assign(
            score=np.nan, status="not scored", reason="", model_id="", network_flag=False)
        summary = {"rule": "", "scored": 0, "failed": 0}
    paths = {"network": table["network_flag"].to_numpy(bool)}
    if detections is not None:
        thresholds = null_thresholds(detections, config)
        data = detections[detections["copy"] == "data"].set_index("key")
        stats = data.drop(columns=["tic", "sector", "copy"]).add_prefix("detect_")
        table = table.join(stats, on="key")
        paths.update(detection_paths(data.reindex(table["key"]), thresholds))
        summary = {**summary, **_detection_summary(thresholds, paths, data, config)}
    paths["sectors"] = _joined_with_a_raised_sector(table, np.logical_or.reduce(
        list(paths.values())))
    flagged = np.logical_or.reduce(list(paths.values()))
    detected_by = ["+".join(name for name in DETECTION_PATHS if name in paths and paths[name][i])
                   for i in range(len(table))]
    summary.update(policy=config.policy, flagged=int(flagged.sum()),
                   flagged_network=int(paths["network"].sum()))
    return table.assign(flagged=flagged, detected_by=detected_by), summary


def _joined_with_a_raised_sector(table: pd.DataFrame, raised: np.ndarray) -> np.ndarray:
    """Whether each light curve joins a star's sectors (:data:`STITCHED_SECTOR`) one of
    which another path raised: the batched search leaves joined light curves to this."""
    stitched = (table["sector"] == STITCHED_SECTOR).to_numpy()
    raised_stars = set(table.loc[raised & ~stitched, "tic"])
    return stitched & table["tic"].isin(raised_stars).to_numpy()


def detection_paths(detections: pd.DataFrame, thresholds: dict) -> dict[str, np.ndarray]:
    """Whether each light curve's batched-search statistics pass the ``thresholds`` of
    :func:`null_thresholds`: ``{"periodic": ..., "single": ..., "edge": ...}``."""
    statistics = _statistics(detections, thresholds["min_sde"])
    return {path: statistics[path] > thresholds[f"{path}_snr"] for path in SEARCH_PATHS}


def _detection_summary(thresholds: dict, paths: dict, data: pd.DataFrame,
                       config: DetectConfig) -> dict:
    """Thresholds, counts per search path and the false alarms the nulls predict (the
    measured null rates times the light curves searched)."""
    searched = int((data["status"] == "ok").sum())
    nulls = max(thresholds["nulls"], 1)
    rates = {path: thresholds[f"null_{path}_passing"] / nulls for path in SEARCH_PATHS}
    return {"thresholds": thresholds, "false_alarms_per_10k": config.false_alarms_per_10k,
            "edge_false_alarms_per_10k": config.edge_false_alarms_per_10k,
            "searched": searched, "search_failed": int((data["status"] == "failed").sum()),
            **{f"detected_{path}": int(paths[path].sum()) for path in SEARCH_PATHS},
            "expected_false_alarms": round(searched * sum(rates.values()), 1),
            "measured_null_rate_per_10k": {name: round(1e4 * rate, 1)
                                           for name, rate in rates.items()},
            "warning": _few_nulls_warning(thresholds, config)}


def _few_nulls_warning(thresholds: dict, config: DetectConfig) -> str:
    """A warning when the periodic or single-event threshold is set by so few nulls (above
    its floor) that a handful of inverted variable stars (phase curves, flares, eclipses
    turned into dips) decide it; "" otherwise."""
    nulls = thresholds["nulls"]
    above = nulls * config.false_alarms_per_10k / 10_000
    above_floors = (thresholds["periodic_snr"] > config.min_snr
                    or thresholds["single_snr"] > config.min_single_snr)
    if above >= MIN_NULLS_ABOVE or not above_floors:
        return ""
    needed = math.ceil(MIN_NULLS_ABOVE * 10_000 / max(nulls, 1))
    remedy = (f"raise detect.false_alarms_per_10k to at least {needed} (thresholds set by "
              f"{MIN_NULLS_ABOVE} nulls; higher still lets fainter signals through)"
              if needed < 10_000 else
              "set detect.false_alarms_per_10k to 9999, so that the floors (detect.min_snr, "
              "min_single_snr) decide")
    return (f"the periodic and single-event thresholds (SNR {thresholds['periodic_snr']:.1f} "
            f"and {thresholds['single_snr']:.1f}) are set by the strongest "
            f"{max(1, round(above))} of {nulls} inverted light curves, a few variable stars' "
            f"phase curves or eclipses turned into dips: for a run this small, {remedy}, so "
            f"that weaker signals reach the in-depth search")
