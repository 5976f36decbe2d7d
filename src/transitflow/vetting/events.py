"""Tests on the individual transits: events at momentum dumps, gaps, data edges or
crowded epochs; depths that disagree; rival dips nearby (chases)."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2 as chi2_distribution
from scipy.stats import norm

from transitflow.lightcurve import MOMENTUM_DUMP_BIT, LightCurve, cadence_at
from transitflow.searching import true_multiple
from transitflow.signals import Signal, VetResult, inverse_variance_mean, robust_std
from transitflow.vetting.config import VetConfig
from transitflow.vetting.measure import (NAN, NOISE_GAP, Noise, distance_to_nearest, event_times,
                                         mean_depth, noise_of, ppm, relative_flux, skipped,
                                         transit_cycle, transit_fits)
from transitflow.vetting.registry import register
from transitflow.vetting.skye import CROWDED_EPOCH_BIT


#: Events holding a momentum dump before a signal counts as following the dumps (two could
#: be chance).
MIN_DUMP_EVENTS = 3
#: A depth of the whole flux or more: no eclipse dims a star below zero.
IMPOSSIBLE_DEPTH = 1.0

#: A transit's own noise is measured out to this many durations from mid-transit.
LOCAL_NOISE_DURATIONS = 10.0

#: Chases: rival dips are looked for from CHASES_GAP durations away, and count from
#: CHASES_FRACTION of the transit's SNR (LEO-vetter: 1.5 and 0.7).
CHASES_GAP = 1.5
CHASES_FRACTION = 0.7

#: Smallest chance turned into a significance (about 37 sigma): beyond it, all are alike.
MIN_CHANCE = 1e-300


@register("systematics", argues="SYSTEMATIC",
          extras=("events", "dumps", "gaps", "edges", "crowded"))
def systematics(lc: LightCurve, detrended: LightCurve, signal: Signal,
                config: VetConfig) -> VetResult:
    """Events at momentum dumps, in data gaps, at data edges or at crowded epochs, or a
    depth no eclipse has.

    An event is suspect when it keeps under ``min_coverage`` of its in-transit cadences
    (gapped), when it does so only once the ``dump_cadences`` cadences either side of a
    momentum dump (quality bit 32 of the raw light curve) are dropped too (at a dump: the
    dip may be the dump's), or when a data edge (sector start or end, either side of a
    gap longer than ``gap_days``) lies within one duration of mid-transit. When most
    events, and :data:`MIN_DUMP_EVENTS` or more, hold a dump within their duration (or the
    ``dump_cadences`` beside it), the signal follows the dumps' rhythm, at any cadence: all
    those events count as at dumps (a single transit over a dump, as TOI-813 b's, is not
    suspect for that alone). Flagged above ``max_systematic_fraction``; and, as the DR25
    Robovetter drops Skye's events, when the events that hold no cadence of an epoch
    crowded with other stars' events (:data:`~transitflow.vetting.skye.CROWDED_EPOCH_BIT`) fall
    below ``min_snr`` together (a single transit in a crowded epoch always does).
    Cadences masked for other signals count as observed. Flagged too at a depth of the
    whole flux or more (:data:`IMPOSSIBLE_DEPTH`): the flux is offset or negative.
    """
    events = event_times(signal, detrended.time)
    if len(events) == 0:
        return skipped("systematics", "no transit event with data")
    observed = lc.good().time
    dumps = lc.time[(lc.quality & MOMENTUM_DUMP_BIT) != 0]
    window = (config.dump_cadences + 0.5) * float(np.median(np.diff(lc.time)))
    calm = observed[distance_to_nearest(observed, dumps) >= window]
    gapped = _coverage(observed, events, signal.duration) < config.min_coverage
    at_dump = ~gapped & (_coverage(calm, events, signal.duration) < config.min_coverage)
    holds_dump = distance_to_nearest(events, dumps) < 0.5 * signal.duration + window
    if holds_dump.sum() >= MIN_DUMP_EVENTS and holds_dump.mean() > config.max_systematic_fraction:
        at_dump |= holds_dump
    edges = _data_edges(observed, config.gap_days)
    at_edge = distance_to_nearest(events, edges) < signal.duration
    suspect = at_dump | gapped | at_edge
    fraction = float(suspect.mean())
    reason = (f"{suspect.sum()} of {len(events)} events suspect ({at_dump.sum()} at "
              f"momentum dumps, {gapped.sum()} gapped, {at_edge.sum()} at data edges)")
    crowded = distance_to_nearest(events, lc.time[(lc.quality & CROWDED_EPOCH_BIT) != 0]
                        ) < 0.5 * signal.duration
    drowned = False
    if crowded.any():
        rest = _uncrowded_snr(detrended, signal, events[crowded])
        drowned = rest < config.min_snr
        reason += (f"; {crowded.sum()} at epochs crowded with other stars' events, the "
                   f"others SNR {rest:.1f}")
    impossible = signal.depth >= IMPOSSIBLE_DEPTH
    if impossible:
        reason += (f"; depth {signal.depth:.0%} of the flux: the flux is offset or negative, "
                   "not a transit")
    extra = {"events": float(len(events)), "dumps": float(at_dump.sum()),
             "gaps": float(gapped.sum()), "edges": float(at_edge.sum()),
             "crowded": float(crowded.sum())}
    return VetResult("systematics", fraction, NAN,
                     fraction > config.max_systematic_fraction or drowned or impossible,
                     reason, extra)


def _uncrowded_snr(detrended: LightCurve, signal: Signal, crowded: np.ndarray) -> float:
    """The SNR of a signal's transits but those at the ``crowded`` mid-times (0 if none)."""
    keep = ~np.isin(transit_cycle(detrended.time, signal), transit_cycle(crowded, signal))
    rest = mean_depth(detrended, signal, noise_of(detrended, signal), keep)
    return rest.sigma if math.isfinite(rest.sigma) else 0.0


def _coverage(time: np.ndarray, events: np.ndarray, duration: float) -> np.ndarray:
    """Fraction of each event's expected in-transit cadences (at the cadence there) that
    have data."""
    found = np.searchsorted(time, events + 0.5 * duration) - np.searchsorted(
        time, events - 0.5 * duration)
    return found / np.maximum(duration / cadence_at(time, events), 1.0)


def _data_edges(time: np.ndarray, gap_days: float) -> np.ndarray:
    """Times where the data start or stop: both ends and both sides of every long gap."""
    jumps = np.flatnonzero(np.diff(time) > gap_days)
    return np.concatenate([[time[0], time[-1]], time[jumps], time[jumps + 1]])


@register("consistency", argues="SYSTEMATIC",
          extras=("n_events", "chi2", "max_share"))
def consistency(lc: LightCurve, detrended: LightCurve, signal: Signal,
                config: VetConfig) -> VetResult:
    """Whether the individual transits agree in depth (Robovetter DR25's individual-event
    checks, LEO-vetter's CHI and single-event tests, as one chi-square).

    Per transit with a baseline on both sides, its depth against a local line
    (:func:`transit_fits`), the error the white noise (:func:`_local_noise`: another
    sector of a joined light curve may be noisier) times the red-noise factor. The
    chi-square of the depths about their weighted mean, each error grown in quadrature by
    ``event_depth_tolerance`` of that mean, on N - 1 degrees of freedom; flagged when its
    chance under one depth is below ``event_false_alarm``: one event dominating, or depths
    that come and go (a systematic that the fold adds up). When only every k-th transit
    holds one (the period k times as long, :func:`true_multiple`), those are compared.
    The metric is the reduced chi-square, the significance its one-sided Gaussian
    equivalent; ``max_share`` the strongest event's SNR over the combined SNR (NaN without
    a dip).
    """
    if not signal.periodic:
        return skipped("consistency", "single transit: no events to compare")
    fits = transit_fits(detrended.time, relative_flux(detrended), signal)
    noise = noise_of(detrended, signal)
    if len(fits) < 2 or not noise.sigma > 0:
        return skipped("consistency", f"{len(fits)} transit(s) with a baseline either side: "
                                    "no comparison")
    depths = -fits[:, 0]
    errs = _local_noise(detrended, signal, fits[:, 2], noise.sigma) * noise.beta * np.sqrt(
        fits[:, 1])
    multiple, kept = true_multiple(depths, errs, fits[:, 2].astype(np.int64),
                                   config.odd_even_min_sigma)
    note = ""
    if multiple > 1:  # found at a fraction of its period: compare the transits there are
        depths, errs = depths[kept], errs[kept]
        note = (f"; transits every {multiple} cycles only, the others empty: compared at "
                f"{multiple}x the period")
    mean, mean_err = inverse_variance_mean(depths, errs)
    allowed = errs ** 2 + (config.event_depth_tolerance * mean) ** 2
    chi2 = float(np.sum((depths - mean) ** 2 / allowed))
    dof = len(depths) - 1
    chance = float(chi2_distribution.sf(chi2, dof))
    sigma = float(norm.isf(min(max(chance, MIN_CHANCE), 0.5)))
    share = (float(np.max(depths / errs) / (mean / mean_err))
             if mean > 0 else NAN)  # no dip in the fold: nothing to share
    flag = chance < config.event_false_alarm
    reason = (f"{len(depths)} transit depths {'disagree' if flag else 'agree'} "
              f"({ppm(depths.min())} to {ppm(depths.max())}): chi-square {chi2:.1f} on "
              f"{dof} dof, {sigma:.1f} sigma; " + (
                  f"strongest event {share:.2f} of the combined SNR" if math.isfinite(share)
                  else "no dip in the fold") + note)
    extra = {"n_events": float(len(depths)), "chi2": chi2, "max_share": share}
    return VetResult("consistency", chi2 / dof, sigma, flag, reason, extra)


def _local_noise(detrended: LightCurve, signal: Signal, cycles: np.ndarray,
                 sigma: float) -> np.ndarray:
    """Per transit cycle, the robust scatter of its cadences :data:`NOISE_GAP` to
    :data:`LOCAL_NOISE_DURATIONS` durations from mid-transit, at least ``sigma`` (the whole
    light curve's: a few dozen cadences may read low by chance)."""
    offset = np.abs(signal.offset(detrended.time)) / signal.duration
    around = (offset >= NOISE_GAP) & (offset < LOCAL_NOISE_DURATIONS)
    cycle, flux = transit_cycle(detrended.time, signal)[around], relative_flux(detrended)[around]
    return np.array([max(sigma, robust_std(flux[cycle == c])) if np.any(cycle == c) else sigma
                     for c in cycles])


@register("chases", argues="SYSTEMATIC", extras=("transits",))
def chases(lc: LightCurve, detrended: LightCurve, signal: Signal,
           config: VetConfig) -> VetResult:
    """Whether each transit stands out from its neighbourhood (Robovetter DR25 and
    LEO-vetter Chases), for signals of at most ``chases_max_transits`` transits, too few
    for the fold to show them unique.

    Per transit with a dip, the nearest one-duration box between
    :data:`CHASES_GAP` durations and a tenth of the period away whose SNR reaches
    :data:`CHASES_FRACTION` of the transit's; its distance over a tenth of the period
    (1 when there is none). Flagged when the median over transits is below
    ``min_chases``: dips like these are common there. The metric is that median.
    """
    if not signal.periodic:
        return skipped("chases", "single transit: no period to set the neighbourhood")
    time, deficit = detrended.time, -relative_flux(detrended)
    events = event_times(signal, time)
    if len(events) > config.chases_max_transits:
        return skipped("chases", f"{len(events)} transits: the fold tests their uniqueness")
    reach = 0.1 * signal.period
    if reach <= CHASES_GAP * signal.duration:
        return skipped("chases", f"a tenth of the period is within {CHASES_GAP:g} durations: "
                               "no neighbourhood to compare")
    noise = noise_of(detrended, signal)
    scores = []
    for event in events:
        snr = _box_snr(time, deficit, np.array([event]), signal.duration, noise)[0]
        if not snr > 0:
            continue
        away = np.abs(time - event)
        near = time[(away > CHASES_GAP * signal.duration) & (away < reach)]
        rivals = near[_box_snr(time, deficit, near, signal.duration, noise)
                      >= CHASES_FRACTION * snr]
        scores.append(float(np.min(np.abs(rivals - event))) / reach if len(rivals) else 1.0)
    if not scores:
        return skipped("chases", "no transit with a dip")
    median = float(np.median(scores))
    flag = median < config.min_chases
    reason = (f"median chases {median:.2f} over {len(scores)} transits (least "
              f"{config.min_chases:g}): " + ("dips as strong lie nearby" if flag
                                              else "each transit stands out locally"))
    return VetResult("chases", median, NAN, flag, reason, {"transits": float(len(scores))})


def _box_snr(time: np.ndarray, deficit: np.ndarray, centres: np.ndarray, duration: float,
             noise: Noise) -> np.ndarray:
    """SNR of the mean flux deficit in a box of ``duration`` around each centre (``time``
    sorted), white noise times the red-noise factor; NaN for an empty box."""
    cumulative = np.concatenate([[0.0], np.cumsum(deficit)])
    low = np.searchsorted(time, centres - 0.5 * duration)
    high = np.searchsorted(time, centres + 0.5 * duration)
    count = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (cumulative[high] - cumulative[low]) / count
        return np.where(count > 0, mean * np.sqrt(count) / (noise.sigma * noise.beta), NAN)
