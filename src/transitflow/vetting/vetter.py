"""Vetting a signal: every registered test run with the light curve's other signals
masked, the disposition the failures argue for, and the flat vetting-table row."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

import numpy as np

from transitflow.detrend import detrend
from transitflow.lightcurve import LightCurve
from transitflow.searching import alias_periods, mask_width
from transitflow.searching.star import DETREND_WINDOW_FACTOR
from transitflow.signals import Signal, VetResult, coincidence_chance
from transitflow.vetting.config import VetConfig
from transitflow.vetting.events import IMPOSSIBLE_DEPTH
from transitflow.vetting.measure import NAN, OTHER_SIGNAL_BIT, USABLE, distance_to_nearest
from transitflow.vetting.registry import DISPOSITION_PRECEDENCE, REGISTRY, SPECS


#: Other signals of the light curve are masked over this many of their durations, or 1.5
#: full durations when wider (as the search masks them: searching.mask_width).
OTHERS_MASK_DURATIONS = 2.0

#: Largest chance probability of another signal's events all falling on this one's
#: transits for them to be one system (see :func:`independent`).
COINCIDENCE_CHANCE = 0.01


def vet_signal(lc: LightCurve, signal: Signal, config: VetConfig = VetConfig(),
               detrended: LightCurve | None = None,
               others: Sequence[Signal] = ()) -> list[VetResult]:
    """Run every registered test on one signal.

    Parameters
    ----------
    lc
        The raw light curve the signal was found in.
    signal
        The signal to vet.
    config
        Thresholds.
    detrended
        ``detrend(lc)`` as the search made it; when None, detrended here with a window of
        ``max(config.detrend_window, 3 * signal.duration)`` days.
    others
        The other signals of the same light curve. The events of each one independent
        of this signal (:func:`independent`, and not one of two single events at one of
        its phases, :func:`_phase_partners`) are masked as the search masked them
        (:func:`transitflow.searching.mask_width`, T14 measured on ``detrended``), so that
        another planet's transits pass neither for this one's secondary eclipse, nor for
        an odd/even difference, nor for noise in its fold: dropped from ``detrended``
        and flagged ``OTHER_SIGNAL_BIT`` in ``lc`` (observed, so no gap).

    Returns
    -------
    list of VetResult
        One per registered test, in registry order.
    """
    lc, detrended = others_masked(lc, signal, others, config, detrended)
    return [test(lc, detrended, signal, config) for test in REGISTRY.values()]


def others_masked(lc: LightCurve, signal: Signal, others: Sequence[Signal], config: VetConfig,
                  detrended: LightCurve | None) -> tuple[LightCurve, LightCurve]:
    """``lc`` with the events of ``others`` that :func:`vet_signal` masks for ``signal``
    flagged ``OTHER_SIGNAL_BIT``, and ``detrended`` (made here when None) without them:
    the light curves ``signal`` is vetted and drawn on."""
    masked = [other for other in others if independent(other, signal, lc.time)
              and not _phase_partners(other, others, signal)]
    window = max(config.detrend_window, DETREND_WINDOW_FACTOR * signal.duration)
    if masked:  # T14 measured on the search's detrending, or on one with the others in
        measured = detrended if detrended is not None else detrend(lc, window)
        masked = [(other, mask_width(measured, other, OTHERS_MASK_DURATIONS))
                  for other in masked]
    lc = replace(lc, quality=np.where(_events_of(lc.time, masked),
                                      lc.quality | OTHER_SIGNAL_BIT, lc.quality))
    if detrended is None:
        detrended = detrend(lc, window, bitmask=USABLE)
    detrended = detrended.select(~_events_of(detrended.time, masked))
    return lc, detrended


def others_of(signal: Signal, signals: Sequence[Signal]) -> list[Signal]:
    """The light curve's ``signals`` but ``signal``."""
    return [other for other in signals if other is not signal]


def independent(other: Signal, signal: Signal, time: np.ndarray) -> bool:
    """Whether ``other`` is a separate body, not part of ``signal``'s own phase curve.

    Two periodic signals are one system when they have the same period, so closely that
    their events drift against each other by less than the sum of their durations over
    the data (a secondary eclipse found separately, at any phase), or when every event
    of the longer-period one lies within that sum of a transit of the other, which
    chance would do with a probability under ``COINCIDENCE_CHANCE``, and keeps its place
    on them, drifting by less than that sum over the data (an alias, or both
    eclipses folded at half the period), or when one has two transits and the other's
    period is one it may have (:func:`~transitflow.searching.alias_periods`: an eclipsing
    binary whose primary between them fell in a gap). A single event is part of a signal
    whose transit it overlaps. Another planet's transits overlap only now and then, or,
    near a resonance, drift across the other's.
    """
    overlap = other.duration + signal.duration
    if not (other.periodic and signal.periodic):
        single, rest = (other, signal) if not other.periodic else (signal, other)
        return bool(abs(rest.offset(np.array([single.epoch]))[0]) >= 0.5 * overlap)
    short, long = sorted((other, signal), key=lambda s: s.period)
    span = float(np.ptp(time))
    cycles_in_data = span / long.period
    if any(abs(alias - short.period) * span / short.period < overlap
           for alias in alias_periods(time, long)):
        return False  # two transits whose period may be the other's (the rest in gaps)
    drift = abs(long.period - short.period) * cycles_in_data
    harmonic = round(long.period / short.period)
    harmonic_drift = abs(long.period - harmonic * short.period) * cycles_in_data
    cycles = np.arange(math.ceil((time.min() - long.epoch) / long.period),
                       math.floor((time.max() - long.epoch) / long.period) + 1)
    events = long.epoch + cycles * long.period
    events = events[distance_to_nearest(events, time) < 0.5 * long.duration]
    chance = coincidence_chance(overlap, short.period, len(events))
    on_short = (chance < COINCIDENCE_CHANCE and harmonic_drift < overlap
                and bool(np.all(np.abs(short.offset(events)) < overlap)))
    return not (drift < overlap or on_short)


def _phase_partners(other: Signal, others: Sequence[Signal], signal: Signal) -> bool:
    """Whether ``other``, a single event, and another single event of the light curve sit
    at one phase of the periodic ``signal`` (within their durations): two events a whole
    number of its periods apart are a second body on its period (a binary's other eclipse
    found as two single events), not a separate one. Two unrelated events line up so with
    a chance of about twice their durations over the period."""
    if other.periodic or not signal.periodic:
        return False
    phase = float(signal.offset(np.array([other.epoch]))[0])
    for partner in others:
        if partner is other or partner.periodic:
            continue
        apart = abs(float(signal.offset(np.array([partner.epoch]))[0]) - phase)
        if min(apart, signal.period - apart) < other.duration + partner.duration:
            return True
    return False


def _events_of(time: np.ndarray, masked: Sequence[tuple[Signal, float]]) -> np.ndarray:
    """Cadences within half its width (days) of any masked signal's events."""
    mask = np.zeros(len(time), dtype=bool)
    for other, width in masked:
        mask |= np.abs(other.offset(time)) < 0.5 * width
    return mask


def vet_light_curve(lc: LightCurve, signals: Sequence[Signal], config: VetConfig,
                    detrended: LightCurve) -> list[dict]:
    """The vetting rows (:func:`vetting_row`) of the signals found in one light curve, each
    vetted with the others known; ``detrended`` as the search saw it."""
    rows = []
    for signal in signals:
        results = vet_signal(lc, signal, config, detrended=detrended,
                             others=others_of(signal, signals))
        rows.append(vetting_row(signal, results, *disposition(signal, results, config)))
    _binary_partners(signals, rows)
    return rows


def _binary_partners(signals: Sequence[Signal], rows: list[dict]) -> None:
    """Make EB, with the reason, the single events that sit two or more at one phase of a
    periodic signal vetted EB (:func:`_phase_partners`): they are that binary's other
    eclipses, found one by one."""
    binaries = [signal for signal, row in zip(signals, rows)
                if signal.periodic and row["disposition"] == "EB"]
    for other, row in zip(signals, rows):
        binary = next((b for b in binaries if _phase_partners(other, signals, b)), None)
        if binary is None or row["disposition"] == "EB":
            continue
        reason = (f"binary: one of the single events at one phase of signal {binary.index}, "
                  f"an EB at P = {binary.period:.4f} d")
        row["disposition"] = "EB"
        row["reasons"] = "; ".join(filter(None, [row["reasons"], reason]))


def disposition(signal: Signal, results: Iterable[VetResult],
                config: VetConfig) -> tuple[str, list[str]]:
    """The disposition and ``"test: reason"`` of every failed test.

    LOW_SNR wins over SYSTEMATIC, SYSTEMATIC over BEB (a centroid failure: pointing
    systematics such as momentum dumps move centroids too), BEB over EB; but a binary's own
    signature (a failed secondary, odd/even or radius test) makes LOW_SNR or SYSTEMATIC an
    EB, unless the depth is one no eclipse has
    (:data:`~transitflow.vetting.events.IMPOSSIBLE_DEPTH`: the flux is offset or negative,
    and a radius from it means nothing), which is SYSTEMATIC. PC when no test fails.
    ``config`` keeps the interface uniform: the thresholds act inside the tests, which made
    ``results`` with it.
    """
    failed = [r for r in results if r.flag]
    unknown = sorted({r.test for r in failed} - SPECS.keys())
    if unknown:
        raise ValueError(f"{signal.key}: no disposition for unregistered tests {unknown}")
    argued = {SPECS[r.test].argues for r in failed}
    label = next((d for d in DISPOSITION_PRECEDENCE if d in argued), "PC")
    if signal.depth >= IMPOSSIBLE_DEPTH:
        label = "SYSTEMATIC"
    elif label in ("LOW_SNR", "SYSTEMATIC") and any(SPECS[r.test].physical for r in failed):
        label = "EB"
    return label, [f"{r.test}: {r.reason}" for r in failed]


def vetting_row(signal: Signal, results: list[VetResult], disposition: str,
                reasons: list[str]) -> dict:
    """One flat vetting-table row; the columns are listed in the module docstring.

    A registered test's extra numbers missing from its result (a skipped test) are NaN,
    so every row of the same tests has the same columns.
    """
    row = signal.to_row()
    for r in results:
        missing = dict.fromkeys(SPECS[r.test].extras if r.test in SPECS else (), NAN)
        values = {"metric": r.metric, "sigma": r.significance, "flag": bool(r.flag),
                  "reason": r.reason, **missing, **r.extra}
        for name, value in values.items():
            column = name if name.startswith(f"{r.test}_") else f"{r.test}_{name}"
            if column in row:
                raise ValueError(f"{signal.key}: vetting column {column!r} appears twice")
            row[column] = value
    row["disposition"] = disposition
    row["reasons"] = "; ".join(reasons)
    return row
