"""The search of one light curve: periodic search, else a single event, iterated with
the found signals masked, for multi-planet systems."""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
from astropy.timeseries import BoxLeastSquares

from transitflow.lightcurve import LightCurve
from transitflow.searching.config import SearchConfig
from transitflow.searching.masking import event_mask, is_echo, mask_width
from transitflow.searching.periodograms import (Periodogram, Spectrum, display_spectrum,
                                                periodogram, refine)
from transitflow.searching.single import rests_on_one_cadence, single_event
from transitflow.searching.star import detrend_for_search, period_limits, search_durations
from transitflow.searching.transits import (MIN_DIP_SIGMA, REST_SNR_FRACTION, fold_transits,
                                            one_event_dominates, rest_snr, signal_of,
                                            timed_ephemeris, true_multiple,
                                            two_transit_period)
from transitflow.signals import Signal, robust_std


log = logging.getLogger(__name__)
#: Search rounds per signal slot: echoes are masked without taking a slot.
ATTEMPTS_PER_SIGNAL = 2
#: The search stops when fewer cadences than this are left unmasked.
MIN_SEARCH_CADENCES = 50


def search_lightcurve(lc: LightCurve, config: SearchConfig = SearchConfig()) -> list[Signal]:
    """Transit-like signals of one light curve, strongest first.

    Repeats until ``config.max_signals`` are found: detrend the cadences not yet masked
    (wotan biweight), run a periodic search and, when that has no significant signal
    resting on two or more events, a single-event search; then mask the signal's events,
    so that they neither return nor bias the next round's trend. A signal whose events fall
    on an earlier one's at the same period, half or double it (:func:`is_echo`: the wings
    of a deep eclipse the mask did not cover; at any period when shallow beside a stellar
    eclipse; never a single event deeper than the earlier signal and its nearest transit
    and no shorter), a faint one locked there to a stellar eclipse (its phase curve), or a
    single event that is one outlying cadence (:func:`rests_on_one_cadence`; all such
    events at once), is masked too but takes no slot; at most :data:`ATTEMPTS_PER_SIGNAL`
    rounds per slot.

    Parameters
    ----------
    lc : raw light curve (any flux units; flagged cadences are dropped).
    config : search options.

    Returns
    -------
    list of Signal
        Indexed 0, 1, ... in the order found, whatever their size (vetting judges it).
    """
    return search_with_spectrum(lc, config)[0]


def search_with_spectrum(lc: LightCurve, config: SearchConfig = SearchConfig()
                         ) -> tuple[list[Signal], Spectrum | None]:
    """The signals of :func:`search_lightcurve`, and the periodogram of its first round
    (the whole light curve detrended) thinned for the vetting sheets
    (:func:`display_spectrum`); None when that round searched no periods."""
    durations = search_durations(config, lc.meta)
    spectrum: Spectrum | None = None
    keep = np.ones(len(lc), bool)
    signals: list[Signal] = []
    masked: list[float] = []  # the width masked around each found signal's events
    span = float(np.ptp(lc.time)) if len(lc) else 0.0
    for round_number in range(ATTEMPTS_PER_SIGNAL * config.max_signals):
        if np.count_nonzero(keep) < MIN_SEARCH_CADENCES:
            break
        detrended = detrend_for_search(lc.select(keep), config)
        if len(detrended) < MIN_SEARCH_CADENCES:  # flagged, NaN and clipped cadences gone
            break
        found, periodogram_searched = _next_signal(detrended, config, durations)
        if round_number == 0:
            spectrum = display_spectrum(periodogram_searched)
        if found is None:
            break
        if found.kind == "single" and rests_on_one_cadence(detrended, found, config):
            outliers = _one_cadence_events(detrended, found, durations, config)
            for outlier, width in outliers:
                keep &= ~event_mask(lc.time, outlier, width)
            log.info("%s: %d single events are one outlying cadence each (at %s): masked",
                     lc.meta.key, len(outliers),
                     ", ".join(f"{outlier.epoch:.4f}" for outlier, _ in outliers))
            continue
        width = mask_width(detrended, found, config.mask_factor)
        keep &= ~event_mask(lc.time, found, width)
        echoed = next((earlier for earlier, earlier_width in zip(signals, masked)
                       if is_echo(found, earlier, earlier_width, span)), None)
        if echoed is not None:
            what = (f"periodic signal at P={found.period:.5f} d," if found.periodic
                    else "single event at")
            log.info("%s: %s epoch %.4f is an echo or the phase curve of signal %d: masked",
                     lc.meta.key, what, found.epoch, echoed.index)
            continue
        signals.append(replace(found, index=len(signals)))
        masked.append(width)
        if len(signals) == config.max_signals:
            break
    return signals, spectrum


def _one_cadence_events(lc: LightCurve, first: Signal, durations: np.ndarray,
                        config: SearchConfig) -> list[tuple[Signal, float]]:
    """``first``, a single event that is one outlying cadence, and every other such event
    of ``lc``, each with the width to mask: the single-event search repeated with each one
    masked until its strongest event is none or rests on more cadences, so that outliers
    (cosmic rays, bad readouts) take one search round together, not one each."""
    events = [(first, mask_width(lc, first, config.mask_factor))]
    keep = np.ones(len(lc), bool)
    for _ in range(len(lc)):  # each pass masks one cadence or more
        keep &= ~event_mask(lc.time, *events[-1])
        rest = lc.select(keep)
        event = single_event(rest, durations, config)
        if event is None or not rests_on_one_cadence(rest, event, config):
            break
        events.append((event, mask_width(lc, event, config.mask_factor)))
    return events


def _next_signal(lc: LightCurve, config: SearchConfig,
                 durations: np.ndarray) -> tuple[Signal | None, Periodogram | None]:
    """The strongest periodic signal if significant on two or more events, else the
    strongest single event if significant, else None; and the periodogram searched (None
    when no period fits)."""
    low, high = period_limits(lc, config)
    spectrum = periodogram(lc, config) if high > low and len(lc) > 1 else None
    signal = _periodic_signal(lc, spectrum, config) if spectrum is not None else None
    if signal is None:
        signal = single_event(lc, durations, config)
    return signal, spectrum


def _periodic_signal(lc: LightCurve, pg: Periodogram, config: SearchConfig) -> Signal | None:
    """The periodogram peak refined and measured on full cadence, if it passes the thresholds.

    A peak at a whole fraction of the true period (only every k-th transit holds a dip, the
    others are empty: :func:`true_multiple`) is measured at k times the period; whether it
    rests on one event is judged on all the transits the peak predicts. A signal of two or
    three transits takes its period and epoch from their individual times
    (:func:`timed_ephemeris`)."""
    if not np.isfinite(pg.period) or pg.sde < config.sde_threshold:
        return None
    t, f = lc.time, lc.flux.astype(np.float64)
    sigma = robust_std(f)
    bls = BoxLeastSquares(t, f, np.full(len(t), sigma))
    period, epoch, duration = (refine(t, f, sigma, pg) if config.method == "bls"
                               else (pg.period, pg.epoch, pg.duration))
    fold = fold_transits(bls, t, f, period, duration, epoch)
    rests_on_one = (rest_snr(fold.depths, fold.counts, sigma)
                    < REST_SNR_FRACTION * config.snr_threshold
                    or one_event_dominates(fold.depths, fold.counts, sigma))
    has_data = fold.counts > 0
    multiple, kept = true_multiple(fold.depths[has_data], sigma / np.sqrt(fold.counts[has_data]),
                                   np.flatnonzero(has_data), MIN_DIP_SIGMA)
    if multiple > 1 and (config.max_period is None or multiple * period <= config.max_period):
        period *= multiple
        fold = fold_transits(bls, t, f, period, duration, fold.times[has_data][kept][0])
    timed = timed_ephemeris(t, f, fold, period, duration, sigma)
    if timed is not None:
        period, epoch = timed
        fold = fold_transits(bls, t, f, period, duration, epoch)
    snr = fold.depth / fold.depth_err
    if snr < config.snr_threshold or rests_on_one:
        return None
    has_data = fold.counts > 0
    times = fold.times[has_data]
    return signal_of(lc.meta, kind="periodic", method=config.method,
                   period=two_transit_period(period, times, config), epoch=float(times[0]),
                   duration=duration, depth=fold.depth, depth_err=fold.depth_err, snr=snr,
                   sde=pg.sde, transit_times=times, transit_depths=fold.depths[has_data])
