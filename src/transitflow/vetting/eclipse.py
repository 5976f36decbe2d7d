"""Tests on the folded light curve's modshift events: a secondary eclipse, and whether
the primary is unique in phase."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from transitflow.lightcurve import LightCurve
from transitflow.searching import alias_periods
from transitflow.signals import Signal, VetResult, inverse_variance_mean
from transitflow.vetting.config import VetConfig
from transitflow.vetting.measure import (NAN, a_over_rstar, noise_of, ppm, relative_flux,
                                         skipped, transit_fits)
from transitflow.vetting.modshift import ModShift, modshift
from transitflow.vetting.registry import register


#: A secondary is a one-off when the orbits other than its deepest show, together, a dip
#: under this many errors.
ONE_OFF_REST_SIGMA = 2.0


@register("secondary", argues="EB", physical=True,
          extras=("secondary_phase", "secondary_depth", "sigma_pri", "sigma_sec", "sigma_ter",
                   "sigma_pos", "fred", "fa1", "fa2", "albedo"))
def secondary(lc: LightCurve, detrended: LightCurve, signal: Signal,
              config: VetConfig) -> VetResult:
    """Modshift secondary-eclipse search at every phase away from the primary.

    Flagged, as DAVE RoboVet.sig_sec and Robovetter DR25 MOD_SEC, when the secondary is
    significant against red noise (sigma_sec / max(Fred, 1) - FA1 > ``secondary_margin``)
    and stands FA2 above the tertiary and positive events - unless it is no eclipse that
    recurs (:func:`_not_recurring`: only cadences at data edges or gaps hold it, or one
    orbit alone), can be the planet's occultation (albedo, radius and depth ratio within
    the Robovetter limits) or equals the primary at phase 0.5 (the period is then half as
    long). A signal of two transits, whose period may be a whole fraction of their
    separation (:func:`alias_periods`), is also searched at those periods: an eclipsing
    binary whose primary between them fell in a gap shows its secondary only there.
    """
    if not signal.periodic:
        return skipped("secondary", "single transit: no phase-folded secondary search")
    result = secondary_at(lc, detrended, signal, config)
    for period in alias_periods(detrended.time, signal):
        alias = secondary_at(lc, detrended, replace(signal, period=period), config)
        if alias.flag and not result.flag:
            return replace(alias, reason=f"at the period {period:.4f} d, whose transits "
                                         f"between the two fall in gaps: {alias.reason}")
    return result


def secondary_at(lc: LightCurve, detrended: LightCurve, signal: Signal,
                 config: VetConfig) -> VetResult:
    """The secondary test at ``signal``'s period."""
    ms = modshift(detrended, signal, config.false_alarm_trials)
    if not (math.isfinite(ms.phase_pri) and math.isfinite(ms.phase_sec)):
        return skipped("secondary", "phase coverage too small for a secondary search")
    albedo = (ms.depth_sec * a_over_rstar(signal, lc) ** 2 / ms.depth_pri
              if ms.depth_pri > 0 else NAN)
    red = ms.sigma_sec / _red_noise_ratio(ms)
    significant = (red - ms.fa1 > config.secondary_margin
                   and ms.sigma_sec - ms.sigma_ter > ms.fa2
                   and ms.sigma_sec - ms.sigma_pos > ms.fa2)
    found = (f"secondary at phase {ms.phase_sec:.3f}, {ppm(ms.depth_sec)}, {red:.1f} sigma "
             f"over red noise (FA1 {ms.fa1:.1f})")
    flag = False
    if not significant:
        reason = f"no significant secondary; strongest {found}"
    elif why_not := _not_recurring(detrended, signal, ms):
        reason = f"{found}, but {why_not}: no recurring eclipse"
    elif _period_is_half(ms, signal):
        reason = f"{found} equals the primary: the period may be half as long"
    elif _planet_occultation(ms, signal, albedo, config):
        reason = f"{found}, a possible planetary occultation (albedo {albedo:.2f})"
    else:
        reason, flag = f"{found}: stellar eclipse", True
    extra = {"secondary_phase": ms.phase_sec, "secondary_depth": ms.depth_sec,
             "sigma_pri": ms.sigma_pri, "sigma_sec": ms.sigma_sec, "sigma_ter": ms.sigma_ter,
             "sigma_pos": ms.sigma_pos, "fred": ms.fred, "fa1": ms.fa1, "fa2": ms.fa2,
             "albedo": albedo}
    return VetResult("secondary", ms.depth_sec, red, flag, reason, extra)


@register("uniqueness", argues="SYSTEMATIC", extras=("ms1", "ms2", "ms3"))
def uniqueness(lc: LightCurve, detrended: LightCurve, signal: Signal,
               config: VetConfig) -> VetResult:
    """Whether the folded transit is unique: Robovetter DR25 MOD_NONUNIQ, MOD_TER, MOD_POS.

    The primary must stand above red noise (MS1), above the next dip away from primary
    and secondary (MS2) and above the strongest brightening (MS3) by the margins in
    :class:`VetConfig`; a dip that noise or variability repeats elsewhere in phase is not
    transit-like. A missing tertiary or positive event (no phase left) passes, as in DR25.
    The metric is the smallest margin's excess, the significance MS1.
    """
    if not signal.periodic:
        return skipped("uniqueness", "single transit: no phase-folded comparison")
    ms = modshift(detrended, signal, config.false_alarm_trials)
    if not (math.isfinite(ms.phase_pri) and math.isfinite(ms.sigma_pri)):
        return skipped("uniqueness", "no primary, or no noise estimate, in the folded light "
                                   "curve")
    checks = {"MS1": (ms.sigma_pri / _red_noise_ratio(ms) - ms.fa1, config.min_ms1, True),
              "MS2": (ms.sigma_pri - ms.sigma_ter - ms.fa2, config.min_ms2,
                      math.isfinite(ms.phase_ter)),
              "MS3": (ms.sigma_pri - ms.sigma_pos - ms.fa2, config.min_ms3,
                      math.isfinite(ms.phase_pos))}
    failed = [f"{name} {value:.1f} < {least:g}" for name, (value, least, measured)
              in checks.items() if measured and value < least]
    excess = min(value - least for value, least, measured in checks.values() if measured)
    values = {name.lower(): value if measured else NAN
              for name, (value, _, measured) in checks.items()}
    summary = (f"primary {ms.sigma_pri:.1f} sigma (Fred {ms.fred:.2f}, FA1 {ms.fa1:.1f}), "
               f"tertiary {ms.sigma_ter:.1f}, brightening {ms.sigma_pos:.1f} (FA2 {ms.fa2:.1f})")
    reason = (f"not unique in phase: {', '.join(failed)}; {summary}" if failed
              else f"unique in phase: {summary}")
    return VetResult("uniqueness", excess, values["ms1"], bool(failed), reason, values)


def _red_noise_ratio(ms: ModShift) -> float:
    """Fred, at least 1 (also when no phase is left to measure it)."""
    return ms.fred if ms.fred > 1.0 else 1.0


def _not_recurring(detrended: LightCurve, signal: Signal, ms: ModShift) -> str:
    """Why the secondary is no eclipse that recurs each orbit, or "" when it may be one.

    Per orbit, its depth against a local baseline on both sides (:func:`transit_fits`),
    with the white noise times the red-noise factor. No orbit measurable means only
    cadences next to data edges or gaps hold it: edges carry ramps (a sector's starting
    ramp made a 13.7-d planet an EB), so such a secondary is not taken as evidence, at the
    cost of a binary whose only secondary sits next to a gap (its other tests still judge
    it). Two or more orbits of which all but the deepest show no dip together (under
    :data:`ONE_OFF_REST_SIGMA`) mean a one-off dip folded in, not an eclipse.
    """
    at_secondary = replace(signal, epoch=signal.epoch + ms.phase_sec * signal.period)
    fits = transit_fits(detrended.time, relative_flux(detrended), at_secondary)
    if not len(fits):
        return "no orbit holds it with a baseline either side (data edges or gaps only)"
    if len(fits) < 2:
        return ""
    noise = noise_of(detrended, signal)
    depths, errors = -fits[:, 0], noise.sigma * noise.beta * np.sqrt(fits[:, 1])
    deepest = int(np.argmax(depths / errors))
    rest, rest_error = inverse_variance_mean(np.delete(depths, deepest),
                                             np.delete(errors, deepest))
    if rest < ONE_OFF_REST_SIGMA * rest_error:
        return (f"one of the {len(fits)} orbits measured holds it (the others "
                f"{ppm(rest)} +- {ppm(rest_error)})")
    return ""


def _period_is_half(ms: ModShift, signal: Signal) -> bool:
    """Robovetter DR25 PLANET_PERIOD_IS_HALF: at phase 0.5 and as significant as the primary."""
    at_half = abs(0.5 - ms.phase_sec) * signal.period < 0.25 * signal.duration
    return at_half and abs(ms.sigma_pri - ms.sigma_sec) < ms.fa2


def _planet_occultation(ms: ModShift, signal: Signal, albedo: float, config: VetConfig) -> bool:
    """Robovetter DR25 PLANET_OCCULT; an unknown planet radius does not rule it out."""
    small = not signal.radius_earth > config.max_occultation_radius
    return (0.0 < albedo < config.max_albedo and small
            and ms.depth_sec < config.max_occultation_depth_ratio * ms.depth_pri)
