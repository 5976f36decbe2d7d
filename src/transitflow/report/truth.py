"""For simulated data, recovery against the truth table; for every run, the reliability
of the PC list from the null copies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from transitflow.signals import injected_with_transit, recovering, shares_by_snr


def held_out_stars(truth: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """The rows (of truth or stars) of stars in the test split, never trained on."""
    return truth[truth["tic"].isin(split.loc[split["split"] == "test", "tic"])]


def truth_recovery(truth: pd.DataFrame, candidates: pd.DataFrame) -> dict[str, dict[str, int]]:
    """For simulated data: planted signals per class, how many were found, and found as PC.

    A periodic signal is found by a candidate on its TIC at its period (or half or double);
    a single event by a candidate whose epoch lies within the event's duration.
    """
    by_tic = dict(tuple(candidates.groupby("tic")))
    recovery = {}
    for sim_class, planted in truth.groupby("sim_class", sort=True):
        hits = [recovering(by_tic.get(row["tic"]), row) for row in planted.to_dict("records")]
        recovery[sim_class] = {"planted": len(planted),
                               "found": sum(not h.empty for h in hits),
                               "found as PC": sum(bool((h["disposition"] == "PC").any())
                                                  for h in hits)}
    return recovery


def planet_recall(truth: pd.DataFrame, stars: pd.DataFrame, candidates: pd.DataFrame,
                  min_snr: float = 10.0) -> dict[str, dict[str, float]]:
    """For simulated data: the share of planets recovered as PC, and of quiet and variable
    stars left without a PC.

    Planets count when their expected SNR is at least ``min_snr``: "planets, 2+ transits"
    (two or more events with data) and "single transits" (one event). Returns, per group,
    ``n`` and ``fraction`` (NaN when the group is empty).
    """
    by_tic = dict(tuple(candidates.groupby("tic")))
    planets = truth[(truth["sim_class"] == "planet") & (truth["snr"] >= min_snr)]
    groups = {"planets, 2+ transits": planets[planets["n_events_in_data"] >= 2],
              "single transits": planets[planets["n_events_in_data"] == 1]}
    recall = {name: [bool((recovering(by_tic.get(row["tic"]), row)["disposition"] == "PC")
                          .any()) for row in group.to_dict("records")]
              for name, group in groups.items()}
    pcs = set(candidates.loc[candidates["disposition"] == "PC", "tic"])
    clean = ~stars.loc[stars["sim_class"].isin(["quiet", "variable"]), "tic"].isin(pcs)
    recall["quiet and variable stars without a PC"] = list(clean)
    return {name: {"n": len(hits), "fraction": float(np.mean(hits)) if hits else math.nan}
            for name, hits in recall.items()}


def truth_recall_by_snr(truth: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """For simulated data, the yardstick of
    :func:`transitflow.completeness.completeness_by_snr`: per expected-SNR
    bin, the planted planets with an event in the data (pass those of stars outside the
    training split) and the share recovered as PC."""
    planets = truth[(truth["sim_class"] == "planet") & (truth["n_events_in_data"] >= 1)]
    by_tic = dict(tuple(candidates.groupby("tic")))
    pc = [bool((recovering(by_tic.get(row["tic"]), row)["disposition"] == "PC").any())
          for row in planets.to_dict("records")]
    return shares_by_snr(planets.assign(PC=pc), ["PC"])


#: Hosts the simulator gives planets: injections into them compare with its planted planets.
PLANET_HOSTS = ("planet", "quiet")
#: Planted planets a like-for-like host may hold: an injection into a host of three makes a
#: system of four, which the simulator never plants and the search's three slots
#: (``max_signals``) cannot hold.
MAX_HOST_PLANETS = 2
#: Injections and planted planets an SNR bin needs of each for the two to be compared.
MIN_COMPARED = 30
#: Who is compared, like for like, in words (the report says it).
LIKE_FOR_LIKE = (f"injections of two or more transits into quiet stars and hosts of up to "
                 f"{MAX_HOST_PLANETS} planets, against planted planets with two or more events "
                 "in the data and an SNR within the injections' range")


def injections_against_truth(injections: pd.DataFrame, truth: pd.DataFrame,
                             stars: pd.DataFrame, candidates: pd.DataFrame,
                             split: pd.DataFrame | None = None,
                             like_for_like: bool = True) -> pd.DataFrame:
    """For simulated data, per expected-SNR bin: the injections found as PC beside the
    planted planets recovered as PC, those of the training ``split`` left out as the
    injections' hosts are.

    Like for like (the default, :data:`LIKE_FOR_LIKE`): the simulator plants no planet
    around binaries or variable stars and no system of four, keeps its single transits off
    the data's edges, and plants planets far brighter than the injections' range.
    ``compared`` marks the bins with at least :data:`MIN_COMPARED` of each.
    """
    if split is not None:
        truth = truth[~truth["tic"].isin(split.loc[split["split"] == "train", "tic"])]
    injected = injected_with_transit(injections)
    if like_for_like:
        hosts = stars.set_index("key").reindex(injected["host_key"])
        alike = (hosts["sim_class"].isin(PLANET_HOSTS).to_numpy()
                 & (hosts["n_signals"] <= MAX_HOST_PLANETS).to_numpy())
        injected = injected[alike & (injected["n_transits"] >= 2).to_numpy()]
        truth = truth[(truth["n_events_in_data"] >= 2)
                      & (truth["snr"] <= injected["snr"].max())]
    measured = shares_by_snr(injected.assign(PC=injected["stage"] == "PC"), ["PC"])
    planted = truth_recall_by_snr(truth, candidates)
    table = pd.DataFrame({"snr_low": measured["snr_low"], "injections": measured["n"],
                          "injected, as PC": measured["PC"], "planted planets": planted["n"],
                          "planted, as PC": planted["PC"]})
    table["difference"] = table["injected, as PC"] - table["planted, as PC"]
    table["compared"] = (table[["injections", "planted planets"]] >= MIN_COMPARED).all(axis=1)
    return table


def reliability(nulls: dict[str, dict[str, int]], light_curves: int, with_pc: int) -> dict:
    """Expected false PCs of a run and the reliability of its PC list, from the null copies
    of every kind together (:func:`transitflow.completeness.null_counts`): their rate of
    holding a PC (failed and excluded copies left out) times the run's light curves, with a
    Poisson error (of at least one count), against the ``with_pc`` light curves holding a
    PC (clipped to [0, 1]). Empty without nulls."""
    searched = sum(kind["copies"] - kind["failed"] - kind["excluded"] for kind in nulls.values())
    if searched <= 0:
        return {}
    false_pcs = sum(kind["with_pc"] for kind in nulls.values())
    expected = false_pcs / searched * light_curves
    error = math.sqrt(max(false_pcs, 1)) / searched * light_curves
    share = min(max(1.0 - expected / with_pc, 0.0), 1.0) if with_pc else math.nan
    return {"expected_false_pcs": expected, "expected_false_pcs_error": error,
            "reliability": share, "reliability_error": error / with_pc if with_pc else math.nan}
