"""Completeness by injection and recovery, measured on every run.

Limb-darkened transits (batman, through :mod:`transitflow.inject`) of log-uniform period
and expected SNR (which sets the planet's radius) go into copies of the run's own light curves (stars of the
training split left out), and each copy goes through the run's chain with the run's
settings: the network's score against the run's flag threshold, the batched search's
statistics against the thresholds the run set on its inverted light curves, then, when
flagged, the in-depth search and vetting. An injection is *found* when a signal of its copy
matches it (:func:`transitflow.signals.recovering`) and *PC* when such a signal is vetted
PC. The share found as PC per bin of expected SNR, period and radius is the completeness.

Each host also gets two null copies, the Kepler DR25 way: inverted (dips become bumps; the
host's brightenings, flares, left out, lest they become dips) and
scrambled (blocks of days in a random order, so dips stay dips, dip-like systematics
included, but repeats fall off any period). They go through the same chain: a PC found in
one is a false alarm, and their rate per light curve gives the expected false PCs of the
run and the reliability of its PC list (:func:`transitflow.report.truth.reliability`). A
scrambled copy keeps its host's own transits and eclipses, so the copies of hosts where the
run found a PC, EB or BEB are left out of the nulls ("excluded").
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from transitflow.detect import DetectConfig, detection_paths, search_batch
from transitflow.flag_summary import read_flag_summary
from transitflow.infer import InferConfig, reads_local_views, score_shard
from transitflow.inject import (TRANSIT_COLUMNS, in_transit, or_sun, orbit_a_rs, transit_flux,
                                transit_params, white_noise)
from transitflow.isolation import each_light_curve
from transitflow.lightcurve import LightCurve
from transitflow.options import options_from_dict
from transitflow.provenance import make_provenance
from transitflow.searching import (SearchConfig, detrend_for_search, search_lightcurve,
                                   without_brightenings)
from transitflow.shards import read_shard, write_shard
from transitflow.signals import (R_SUN_IN_R_EARTH, binned_means, injected_with_transit,
                                 recovering, shares_by_snr, snr_bin_label)
from transitflow.simulate import log_uniform, transit_duration
from transitflow.tables import atomic_output, read_table, read_tables, write_json, write_table
from transitflow.vetting import VetConfig, vet_light_curve
from transitflow.vetting.skye import CrowdedEpochs, mark_crowded

log = logging.getLogger("transitflow")

#: Injected copies get TIC IDs above every real one: ``OFFSET + host TIC * 100 + copy``;
#: the null copies are numbers :data:`NULL_COPIES`.
INJECTED_TIC_OFFSET = 10 ** 12
NULL_COPIES = {"inverted": 99, "scrambled": 98}
#: Scrambled copies: blocks of about a momentum-dump interval, laid out a day apart (wider
#: than the detrending's breaks).
SCRAMBLE_BLOCK_DAYS = 3.0
SCRAMBLE_GAP_DAYS = 1.0
#: Dispositions that mark an astrophysical signal of a host: its scrambled copy is no null.
ASTROPHYSICAL = ("PC", "EB", "BEB")
#: Stages an injection can reach, in order.
STAGES = ("flagged", "found", "PC")
STAGE_TITLES = {"flagged": "flagged for the in-depth search", "found": "found by the search",
                "PC": "found as PC"}
#: Columns of the table of injections, one row per injected copy.
INJECTION_COLUMNS = ("key", "host_key", "tic", "sector", "copy", "radius_earth",
                     *TRANSIT_COLUMNS, "star_radius")
#: Columns of the recovery of each copy, joined to the injections by ``key``.
RECOVERY_COLUMNS = ("key", "detected_by", "flagged", "found", "found_period", "found_epoch",
                    "disposition", "stage", "reason")
#: Period and radius bins of the completeness map (edges; days, Earth radii).
PERIOD_EDGES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 40.0)
RADIUS_EDGES = (0.7, 1.25, 2.0, 4.0, 8.0, 20.0)


@dataclass(frozen=True)
class CompletenessConfig:
    """The injections of one run.

    Parameters
    ----------
    stars : int
        Host light curves per shard (0: no injections), picked by a seeded shuffle among
        those outside the training split.
    n_per_star : int
        Injected copies of each host.
    period_range : tuple of float
        Days, log-uniform; epochs are uniform over the first period.
    snr_range : tuple of float
        Expected white-noise SNR, log-uniform: it sets the radius ratio (from the depth of
        a dark disk, so limb darkening and grazing make the recorded SNR somewhat lower),
        which puts the injections where completeness changes.
    radius_range : tuple of float
        Earth radii the planet's radius is clipped to.
    max_impact : float
        Impact parameters are uniform in ``[0, max_impact]``.
    seed : int
        With the shard's number, fixes every draw.
    """

    stars: int = 40
    n_per_star: int = 2
    period_range: tuple[float, float] = (0.5, 40.0)
    snr_range: tuple[float, float] = (3.0, 100.0)
    radius_range: tuple[float, float] = (0.5, 25.0)
    max_impact: float = 0.9
    seed: int = 0

    def __post_init__(self) -> None:
        most = min(NULL_COPIES.values()) - 1
        if self.stars < 0 or not 1 <= self.n_per_star <= most:
            raise ValueError(f"completeness: stars must be >= 0 and n_per_star in [1, {most}]")
        for name in ("period_range", "snr_range", "radius_range"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                raise ValueError(f"completeness: {name} must be 0 < low <= high")

    @classmethod
    def from_dict(cls, options) -> CompletenessConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "completeness")


def inject_shard(light_curves: list[LightCurve], exclude_tics: set[int],
                 config: CompletenessConfig, shard_number: int,
                 search: SearchConfig = SearchConfig()) -> tuple[list[LightCurve], pd.DataFrame]:
    """Injected copies of up to ``config.stars`` hosts of a shard and their parameters.
    Hosts are single observations: completeness is measured per sector, not on the light
    curves that join a star's sectors. The inverted copy mirrors its host without its
    brightenings, detrended with the ``search`` settings
    (:func:`~transitflow.searching.without_brightenings`); a light curve that cannot be
    detrended so (a median flux of 0) is no host, and the shard has one fewer.

    Returns
    -------
    copies : list of LightCurve
        The hosts' raw light curves times the transit model, and each host inverted and
        scrambled, with TIC IDs from :data:`INJECTED_TIC_OFFSET`.
    injections : pandas.DataFrame
        One row per copy: ``key`` (of the copy), ``host_key``, ``tic`` (the host's),
        ``sector``, ``copy`` ("injected", "inverted" or "scrambled"), ``radius_earth``, the
        :data:`transitflow.inject.TRANSIT_COLUMNS` (NaN, and no transit, for a null copy)
        and ``star_radius``.
    """
    rng = np.random.default_rng([config.seed, shard_number])
    hosts = [lc for lc in light_curves
             if lc.meta.tic not in exclude_tics and not lc.meta.stitched]
    order = rng.permutation(len(hosts))[:config.stars]
    copies, rows = [], []
    for host in (hosts[i] for i in sorted(order)):
        good = host.good()
        if len(good) < 2:
            continue
        try:
            kept = without_brightenings(host, search)
        except ValueError as error:  # cannot be detrended: the search fails it too
            log.warning("inject: %s is no host: %s", host.meta.key, error)
            continue
        drawn = [_draw(good, rng, config) for _ in range(config.n_per_star)]
        made = [(_copy(replace(host, flux=host.flux * transit_flux(host.time, params)), number),
                 "injected", params) for number, params in enumerate(drawn)]
        nulls = {"inverted": kept.inverted(),
                 "scrambled": host.scrambled(rng, SCRAMBLE_BLOCK_DAYS, SCRAMBLE_GAP_DAYS)}
        made += [(_copy(lc, NULL_COPIES[kind]), kind, {"n_transits": 0})
                 for kind, lc in nulls.items()]
        for lc, kind, params in made:
            copies.append(lc)
            rows.append({"key": lc.meta.key, "host_key": host.meta.key, "tic": host.meta.tic,
                         "sector": host.meta.sector, "copy": kind, **params,
                         "star_radius": or_sun(host.meta.radius)})
    return copies, pd.DataFrame(rows, columns=INJECTION_COLUMNS)


def _draw(good: LightCurve, rng: np.random.Generator, config: CompletenessConfig) -> dict:
    star_radius_earth = or_sun(good.meta.radius) * R_SUN_IN_R_EARTH
    period = log_uniform(rng, *config.period_range)
    impact = rng.uniform(0.0, config.max_impact)
    q = tuple(rng.random(2))
    epoch = float(good.time[0] + rng.random() * period)
    snr = log_uniform(rng, *config.snr_range)
    relative = good.flux / np.nanmedian(good.flux)
    sigma = white_noise(relative[np.isfinite(relative)])
    a_rs = orbit_a_rs(period, or_sun(good.meta.mass), or_sun(good.meta.radius))
    n_in = in_transit(good.time, period, epoch, transit_duration(period, a_rs, impact)).sum()
    rp_rs = np.clip(math.sqrt(snr * sigma / math.sqrt(max(n_in, 1))),
                    *np.divide(config.radius_range, star_radius_earth))
    params = transit_params(good.time, sigma, period, epoch, float(rp_rs), a_rs, impact, q)
    return {"radius_earth": float(rp_rs) * star_radius_earth, **params}


def _copy(lc: LightCurve, number: int) -> LightCurve:
    """``lc`` as copy ``number`` of its host: float32 flux, a TIC ID of its own."""
    tic = INJECTED_TIC_OFFSET + lc.meta.tic * 100 + number
    return replace(lc, flux=lc.flux.astype(np.float32), meta=replace(lc.meta, tic=tic))


def recover_shard(copies: list[LightCurve], injections: pd.DataFrame, scores: pd.DataFrame | None,
                  flag_summary: dict, search: SearchConfig, detect: DetectConfig,
                  vet: VetConfig, signal_tics: frozenset[int] = frozenset(),
                  statistics: pd.DataFrame | None = None) -> pd.DataFrame:
    """The stage each injection reached, through the run's chain.

    Parameters
    ----------
    copies, injections : from :func:`inject_shard`.
    scores : the network's scores of the copies (:func:`transitflow.infer.score_shard`),
        or None when the run has no network.
    flag_summary : the run's flag summary: its network ``threshold`` and the batched
        search's ``thresholds`` (either absent when its path is not used).
    signal_tics : stars where the run found a PC, EB or BEB (:data:`ASTROPHYSICAL`): their
        scrambled copies are not followed (stage "excluded").
    statistics : the batched search of the copies (:func:`~transitflow.detect.search_batch`)
        when already run; else it runs here where the flag summary has its thresholds.

    Returns
    -------
    pandas.DataFrame
        ``injections`` with ``score``, ``detected_by``, ``flagged``, ``found``, the matched
        signal's ``found_period``, ``found_epoch`` and ``disposition`` ("" when not found),
        ``stage`` (the last of "injected", :data:`STAGES` reached, "excluded", or
        "failed": the search or vetting of the copy raised) and ``reason`` (why it failed
        or was excluded, else "").
    """
    planted = injections.set_index("key")
    excluded = set(injections.loc[(injections["copy"] == "scrambled")
                                  & injections["tic"].isin(signal_tics), "key"])
    copies = [lc for lc in copies if lc.meta.key not in excluded]
    detected = _detected_by(copies, scores, flag_summary, search, detect, statistics)
    followed, failures = each_light_curve(copies, lambda lc: _followed(
        lc, planted.loc[lc.meta.key], detected[lc.meta.key], search, vet), "recover")
    failed = [{**_start(key, detected[key]), "stage": "failed", "reason": reason}
              for key, reason in zip(failures["key"], failures["reason"])]
    left_out = [{**_start(key, ""), "stage": "excluded",
                 "reason": "the run found a PC, EB or BEB on the host: no null"}
                for key in sorted(excluded)]
    rows = pd.DataFrame([*followed, *failed, *left_out], columns=RECOVERY_COLUMNS)
    score = (scores.set_index("key")["score"] if scores is not None
             else pd.Series(np.nan, index=injections["key"]))
    return injections.assign(score=injections["key"].map(score)).merge(rows, on="key",
                                                                       how="left")


def signal_hosts(vetting: pd.DataFrame) -> frozenset[int]:
    """The stars of a vetting table holding a PC, EB or BEB (:data:`ASTROPHYSICAL`)."""
    if vetting.empty:
        return frozenset()
    return frozenset(vetting.loc[vetting["disposition"].isin(ASTROPHYSICAL), "tic"].astype(int))


def _detected_by(copies: list[LightCurve], scores: pd.DataFrame | None, flag_summary: dict,
                 search: SearchConfig, detect: DetectConfig,
                 statistics: pd.DataFrame | None) -> dict[str, str]:
    """Key -> the detection paths that flag it ("network", "periodic", "single", "edge"
    joined by "+", "" for none), with the run's thresholds."""
    keys = [lc.meta.key for lc in copies]
    paths = {}
    if scores is not None and flag_summary.get("threshold") is None:
        raise ValueError("completeness: the run has no score threshold for injected copies "
                         "to follow (flag.top_k alone ranks the sector); set flag.threshold, "
                         "flag.top_k: null or completeness.stars: 0")
    if scores is not None:
        score = scores.set_index("key").reindex(keys)["score"].to_numpy()
        paths["network"] = np.nan_to_num(score, nan=-1.0) >= flag_summary["threshold"]
    if "thresholds" in flag_summary:
        if statistics is None:
            statistics = search_batch(copies, search, detect)
        paths.update(detection_paths(statistics.set_index("key").reindex(keys),
                                     flag_summary["thresholds"]))
    return {key: "+".join(name for name, hit in paths.items() if hit[i])
            for i, key in enumerate(keys)}


def _followed(lc: LightCurve, planted: pd.Series, detected_by: str, search: SearchConfig,
              vet: VetConfig) -> dict:
    """One copy through the in-depth search and the vetting of its matching signals (of a
    null copy: of every signal, each a false alarm)."""
    row = _start(lc.meta.key, detected_by)
    if not detected_by:
        return row
    signals = search_lightcurve(lc, search)
    table = pd.DataFrame([signal.to_row() for signal in signals])
    matched = table if planted["copy"] != "injected" or table.empty else recovering(
        table, planted[["period", "epoch", "duration"]])
    if matched.empty:
        return row
    chosen = [signals[i] for i in matched.index]
    vetted = vet_light_curve(lc, signals, vet, detrend_for_search(lc, search))
    dispositions = [vetted[i]["disposition"] for i in matched.index]
    best = dispositions.index("PC") if "PC" in dispositions else 0
    return {**row, "found": True, "found_period": chosen[best].period,
            "found_epoch": chosen[best].epoch, "disposition": dispositions[best],
            "stage": "PC" if dispositions[best] == "PC" else "found"}


def _start(key: str, detected_by: str) -> dict:
    """The recovery row of a copy before its in-depth search."""
    return {"key": key, "detected_by": detected_by, "flagged": bool(detected_by),
            "found": False, "found_period": math.nan, "found_epoch": math.nan,
            "disposition": "", "stage": "flagged" if detected_by else "injected", "reason": ""}


def completeness_by_snr(injections: pd.DataFrame) -> pd.DataFrame:
    """Per expected-SNR bin (:data:`transitflow.signals.SNR_BINS`): injections with a
    transit in the data and the share flagged, found and found as PC."""
    usable = injected_with_transit(injections)
    return shares_by_snr(usable.assign(PC=usable["stage"] == "PC"), STAGES)


def completeness_map(injections: pd.DataFrame) -> pd.DataFrame:
    """Per period x radius bin (:data:`PERIOD_EDGES`, :data:`RADIUS_EDGES`), the injections
    with a transit in the data and the share of them at each stage (:data:`STAGES`:
    flagged, found, found as PC)."""
    injected = injected_with_transit(injections)
    usable = injected.assign(PC=injected["stage"] == "PC")
    period = pd.cut(usable["period"], PERIOD_EDGES, right=False)
    radius = pd.cut(usable["radius_earth"], RADIUS_EDGES, right=False)
    table = usable.groupby([period, radius], observed=False).agg(
        n=("key", "size"), **{stage: (stage, "mean") for stage in STAGES})
    return table.reset_index()


def null_counts(injections: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per kind of null copy (:data:`NULL_COPIES`): the copies, and how many of them were
    flagged, held a signal, held a PC, failed and were excluded."""
    counts = {}
    for kind in NULL_COPIES:
        nulls = injections[injections["copy"] == kind]
        counts[kind] = {"copies": len(nulls), "flagged": int(nulls["flagged"].sum()),
                        "with_signal": int(nulls["found"].sum()),
                        **{name: int((nulls["stage"] == stage).sum()) for name, stage in
                           (("with_pc", "PC"), ("failed", "failed"), ("excluded", "excluded"))}}
    return counts


def completeness_by_radius(injections: pd.DataFrame) -> pd.DataFrame:
    """Share found as PC per planet-radius bin (:data:`RADIUS_EDGES`), all periods, of the
    injections with a transit in the data."""
    usable = injected_with_transit(injections)
    table = binned_means(usable.assign(PC=usable["stage"] == "PC"), "radius_earth",
                         RADIUS_EDGES, ["PC"])
    return table.rename(columns={"low": "radius_low", "high": "radius_high"})


def summary(injections: pd.DataFrame) -> dict:
    """The JSON summary of a run's injections: counts, the completeness per SNR bin and per
    period x radius bin, and the outcome of the null copies."""
    cells = completeness_map(injections).astype({"period": str, "radius_earth": str})
    injected = injections[injections["copy"] == "injected"]
    return {"injections": len(injected), "nulls": null_counts(injections),
            "with_transit_in_data": int((injected["n_transits"] >= 1).sum()),
            "by_snr": _records(completeness_by_snr(injections)),
            "by_radius": _records(completeness_by_radius(injections)),
            "by_period_radius": _records(cells)}


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-ready dicts: shares rounded, an empty bin's share None."""
    frame = frame.round(4).astype(object)
    return frame.where(frame.notna(), None).to_dict("records")


def plot_completeness(injections: pd.DataFrame, path) -> None:
    """Share flagged, found and found as PC against expected SNR, and per period x radius
    bin."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(17, 4), layout="constrained")
    by_snr_axes, *map_axes = figure.subplots(1, 1 + len(STAGES))
    by_snr = completeness_by_snr(injections)
    injected = int((injections["copy"] == "injected").sum())
    ticks = [snr_bin_label(low) for low in by_snr["snr_low"]]
    for stage in STAGES:
        by_snr_axes.plot(ticks, by_snr[stage], "o-", label=stage)
    by_snr_axes.set(xlabel="expected SNR", ylabel="share of injections", ylim=(0, 1.02),
                    title=f"{injected} injected transits")
    by_snr_axes.legend()
    cells = completeness_map(injections)
    for axes, stage in zip(map_axes, STAGES):
        image = _map_panel(axes, cells.pivot(index="radius_earth", columns="period",
                                             values=stage), STAGE_TITLES[stage])
    figure.colorbar(image, ax=map_axes[-1])
    with atomic_output(path) as partial:
        figure.savefig(partial, dpi=100)


def _map_panel(axes, grid: pd.DataFrame, title: str):
    """One stage's shares as an image over the period x radius bins."""
    image = axes.imshow(grid.to_numpy(float), origin="lower", vmin=0, vmax=1, cmap="viridis",
                        aspect="auto")
    axes.set(xticks=range(len(PERIOD_EDGES) - 1), yticks=range(len(RADIUS_EDGES) - 1),
             xticklabels=_bin_labels(PERIOD_EDGES), yticklabels=_bin_labels(RADIUS_EDGES),
             xlabel="period (days)", ylabel="planet radius (R_earth)", title=title)
    return image


def _bin_labels(edges) -> list[str]:
    return [f"{low:g}-{high:g}" for low, high in zip(edges, edges[1:])]


def run_inject(shard: str | Path, split: str | Path, options: Mapping, out_shard: str | Path,
               out: str | Path) -> pd.DataFrame:
    """The inject stage: injected and null copies of the light curves of ``shard``
    (:func:`inject_shard`), the stars of the training split of the table ``split`` ("" when
    the run did not train) left out; write the copies to the shard ``out_shard`` and their
    injections to ``out``; return the injections. ``options`` holds the config's
    ``completeness`` and ``search`` sections."""
    table = read_table(split) if split else None
    training = set(table.loc[table["split"] == "train", "tic"]) if table is not None else set()
    copies, injections = inject_shard(read_shard(shard), training,
                                      CompletenessConfig.from_dict(options.get("completeness", {})),
                                      int(Path(shard).stem),
                                      SearchConfig.from_dict(options.get("search", {})))
    provenance = make_provenance("inject", options, [shard, *filter(None, [split])])
    write_shard(out_shard, copies, provenance)
    write_table(injections, out, provenance)
    log.info("%s: %d injected copies", shard, len(copies))
    return injections


def run_recover(shard: str | Path, injections: str | Path, flag_summary: str | Path,
                vetting: str | Path, crowded_epochs: str | Path, model: str | Path,
                options: Mapping, out: str | Path) -> pd.DataFrame:
    """The recover stage: the stage each copy of the injected ``shard`` (its injections in
    ``injections``) reached through the run's chain (:func:`recover_shard`), scored by the
    model file ``model`` ("" without a network), flagged by the run's flag summary
    ``flag_summary``, its cadences in the crowded epochs ``crowded_epochs`` marked, the hosts
    of the PCs, EBs and BEBs of the vetting table ``vetting`` left out of the nulls; write
    the table to ``out`` and return it. ``options`` holds the config's ``infer``,
    ``search``, ``detect`` and ``vet`` sections. The batched search of the copies runs once,
    for the flag summary's thresholds and for a model's local views."""
    planted = read_table(injections)
    batch_size = InferConfig.from_dict(options["infer"]).batch_size
    crowded = CrowdedEpochs.read(crowded_epochs)
    copies = [mark_crowded(lc, crowded) for lc in read_shard(shard)]
    summary = read_flag_summary(flag_summary)
    search, detect = (SearchConfig.from_dict(options["search"]),
                      DetectConfig.from_dict(options["detect"]))
    scores, statistics = score_copies(shard, copies, model, summary, search, detect, batch_size)
    recovered = recover_shard(copies, planted, scores, summary, search, detect,
                              VetConfig.from_dict(options["vet"]),
                              signal_hosts(read_table(vetting)), statistics)
    inputs = [shard, injections, flag_summary, vetting, crowded_epochs, *filter(None, [model])]
    write_table(recovered, out, make_provenance("recover", options, inputs))
    log.info("%s: %d of %d injections found as PC", shard,
             int((recovered["stage"] == "PC").sum()), len(recovered))
    return recovered


def score_copies(shard: str | Path, copies: list[LightCurve], model: str | Path,
                 flag_summary: dict, search: SearchConfig, detect: DetectConfig,
                 batch_size: int = 512) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The network's scores of the injected copies ``copies`` of the shard file ``shard``
    (None without a ``model``) and their batched search (None when neither the flag
    summary's thresholds nor the model's local views need it), run once for both."""
    statistics = None
    if "thresholds" in flag_summary or (model and reads_local_views(model)):
        statistics = search_batch(copies, search, detect)
    found = None if statistics is None else statistics.assign(copy="data")
    scores = score_shard(model, shard, batch_size=batch_size, detections=found) \
        if model else None
    return scores, statistics


def run_completeness(recovered: Sequence[str | Path], out: str | Path,
                     summary_file: str | Path, figure: str | Path) -> pd.DataFrame:
    """The completeness stage: the recovery tables of all shards, ``recovered``, merged into
    ``out``, their :func:`summary` written to ``summary_file`` (JSON) and their
    :func:`plot_completeness` to ``figure``; return the merged table."""
    injections = read_tables(recovered)
    provenance = make_provenance("completeness", {}, recovered)
    write_table(injections, out, provenance)
    write_json(summary(injections), summary_file, provenance)
    plot_completeness(injections, figure)
    return injections
