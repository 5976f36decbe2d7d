"""DAVE-style vetting of transit signals (Kostov et al. 2019; Kepler Robovetter; SPOC DV).

Every test has one interface, ``test(lc, detrended, signal, config) -> VetResult``, and is
registered by name in :data:`REGISTRY`; :data:`SPECS` holds the disposition its failure
argues for and the names of its extra numbers. ``lc`` is the raw light curve (quality
flags, centroids, background), ``detrended`` its :func:`transitflow.detrend.detrend`
output, both without the transits of the light curve's other signals (see
:func:`vet_signal`). A test that cannot run says why, with a NaN metric and no flag.

=============  ===========  =============================================================
test           failure      metric
=============  ===========  =============================================================
odd_even       EB           |odd - even| depth on a shared profile over the mean depth
secondary      EB           box depth of the strongest event away from the primary
uniqueness     SYSTEMATIC   least modshift margin (MS1-3) over its threshold
centroid       BEB          in-transit centroid shift, pixels
background     SYSTEMATIC   in-transit background excess over the flux deficit
shape          EB           trapezoid ingress over total duration (0.5: V-shaped)
harmonics      SYSTEMATIC   variance a sinusoid (P or P/2) explains over the transit's
systematics    SYSTEMATIC   fraction of events at momentum dumps, gaps or data edges
consistency    SYSTEMATIC   reduced chi-square of the individual transit depths
chases         SYSTEMATIC   median distance to a rival dip over a tenth of the period
radius         EB           planet radius, Earth radii
snr            LOW_SNR      transit SNR, red noise included
=============  ===========  =============================================================

The vetting table has one flat row per signal (:func:`vetting_row`): the columns of
``Signal.to_row()``; for each test ``T`` ``T_metric``, ``T_sigma`` (significance in sigma,
NaN where none), ``T_flag`` (bool; True argues against a planet on the target) and
``T_reason`` (one line); each extra number as ``T_<name>``, a name already starting with
``T_`` kept as is; then ``disposition`` (PC, EB, BEB, SYSTEMATIC or LOW_SNR) and
``reasons`` (``"test: reason"`` of every failed test, joined by ``"; "``). Extra columns:

- odd_even_odd_depth, odd_even_even_depth, odd_even_odd_depth_err,
  odd_even_even_depth_err: fractions; odd transits are cycles +-1, +-3, ... from the epoch
- secondary_phase (0-1, primary at 0), secondary_depth (box-mean fraction),
  secondary_sigma_pri, _sigma_sec, _sigma_ter, _sigma_pos (modshift significances over
  white noise), secondary_fred (red-noise ratio), secondary_fa1, secondary_fa2
  (false-alarm thresholds, sigma), secondary_albedo (geometric albedo the secondary
  implies if it were the planet's occultation)
- uniqueness_ms1, uniqueness_ms2, uniqueness_ms3 (sigma: primary over red noise minus
  FA1, primary minus tertiary minus FA2, primary minus brightening minus FA2; NaN where
  the event is missing)
- centroid_dcol, centroid_drow (in-transit shift, pixels), centroid_offset_px,
  centroid_offset_err_px, centroid_offset_arcsec (implied source distance from the
  out-of-transit centroid, its error, and in arcsec at the mission's pixel scale)
- background_excess (flux units), background_correlation (flux against background near
  transits)
- shape_depth (fraction), shape_total, shape_ingress (days), shape_duration_ratio (total
  over the longest central transit of this star; NaN without R* and M* or logg)
- harmonics_period (days), harmonics_amplitude (fraction)
- systematics_events, systematics_dumps, systematics_gaps, systematics_edges (counts)
- consistency_n_events (transits compared), consistency_chi2, consistency_max_share
  (strongest event's SNR over the combined SNR)
- chases_transits (transits with a dip that were checked)
- snr_white (SNR without red noise), snr_beta (red-noise factor), snr_transits (events
  with data), snr_search (the search's SNR)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import least_squares
from scipy.special import erfcinv
from scipy.stats import chi2 as chi2_distribution
from scipy.stats import norm

from transitflow.detrend import detrend
from transitflow.lightcurve import DEFAULT_QUALITY_BITMASK, MOMENTUM_DUMP_BIT, LightCurve
from transitflow.options import options_from_dict
from transitflow.search import (DETREND_WINDOW_FACTOR, mask_width, stellar_density,
                                true_multiple)
from transitflow.signals import (Signal, VetResult, inverse_variance_mean,
                                 scaled_semi_major_axis)
from transitflow.skye import CROWDED_EPOCH_BIT

#: Pixel scale of each mission's detectors, arcsec per pixel (light curves of unknown
#: mission take TESS's).
PIXEL_ARCSEC = {"TESS": 21.0, "K2": 3.98, "Kepler": 3.98}
#: Radius of a typical SPOC photometric aperture, pixels (about 4 px across).
APERTURE_RADIUS_PX = 2.0
#: Robust standard deviation from the median absolute deviation.
MAD_TO_STD = 1.4826
#: Modshift phase bins per transit duration (Coughlin's modshift, exovetter).
MODSHIFT_BINS_PER_DURATION = 10
#: Modshift exclusions, in durations around the primary and secondary: for the secondary,
#: tertiary and Fred; for the positive event; for the cadences giving the white noise
#: (modshift-v4.cpp widthfac 4, 6 and 2 half-durations; Fred excludes two durations here
#: because our boxes have flanks).
EVENT_GAP = 2.0
POSITIVE_GAP = 3.0
NOISE_GAP = 1.0
#: Local baseline of in-/out-of-transit contrasts, durations from mid-transit.
BASELINE_DURATIONS = (1.0, 2.0)
#: Null epochs (one event moved off the signal's events) on which a contrast's scatter is
#: measured, and the fewest that make a measurement.
NULL_EPOCHS = 24
MIN_NULL_EPOCHS = 8
#: Trapezoid fit: half-width of the window and bins per duration; exposure sub-samples.
SHAPE_WINDOW = 2.0
SHAPE_BINS_PER_DURATION = 20
SHAPE_SUBSAMPLES = 5
#: Chi-square by which a flat-bottomed trapezoid must fit worse for a V-shape (three
#: sigma for one parameter).
SHAPE_CHI2 = 9.0
#: Other signals of the light curve are masked over this many of their durations, or 1.5
#: full durations when wider (as the search masks them: search.mask_width).
OTHERS_MASK_DURATIONS = 2.0
#: Largest chance probability of another signal's events all falling on this one's
#: transits for them to be one system (see :func:`independent`).
COINCIDENCE_CHANCE = 0.01
#: Quality bit vet_signal sets on the cadences it masks for other signals (above the
#: TESS bits); the tests drop cadences flagged in USABLE's bits.
OTHER_SIGNAL_BIT = 1 << 30
USABLE = DEFAULT_QUALITY_BITMASK | OTHER_SIGNAL_BIT
#: Events holding a momentum dump before a signal counts as following the dumps (two could
#: be chance).
MIN_DUMP_EVENTS = 3
#: Disposition precedence: the first one a failed test argues for wins; PC when none. A
#: binary's own signature (a failed ``physical`` test: secondary, odd/even, radius) makes
#: it EB even when the noise tests say LOW_SNR or SYSTEMATIC.
DISPOSITIONS = ("LOW_SNR", "SYSTEMATIC", "BEB", "EB")
NAN = float("nan")
# A transit's own noise is measured out to this many durations from mid-transit.
LOCAL_NOISE_DURATIONS = 10.0
# Chases: rival dips are looked for from CHASES_GAP durations away, and count from
# CHASES_FRACTION of the transit's SNR (LEO-vetter: 1.5 and 0.7).
CHASES_GAP = 1.5
CHASES_FRACTION = 0.7
# Smallest chance turned into a significance (about 37 sigma): beyond it, all are alike.
MIN_CHANCE = 1e-300


@dataclass(frozen=True)
class VetConfig:
    """Thresholds of the vetting tests.

    Defaults are the published DAVE / Robovetter values where those pipelines have the
    threshold; the comment on each says where it comes from, or that it is ours.
    """

    # Detrending window, days, when vet_signal detrends: the larger of this and 3x the
    # duration (detrend.py; search.DETREND_WINDOW_FACTOR).
    detrend_window: float = 1.0
    # Modshift false-alarm trials, FA1 = sqrt(2) erfcinv(T / (P n)): Coughlin's
    # modshift-v4.cpp "assume 20,000 KOIs", as DAVE. FA1 is the odd/even threshold (DAVE
    # RoboVet ODD_EVEN_DIFF) and the secondary's.
    false_alarm_trials: int = 20000
    # Odd/even depths from this central fraction of the duration (ours: the flat bottom
    # of most transits; exovetter's OddEven dur_frac spans twice its value, see tests).
    odd_even_duration_frac: float = 0.5
    # A parity is empty when its depth is below this significance and the other parity is
    # this many sigma deeper (ours: 3 sigma at a known phase): the period is twice as long
    # and odd/even does not flag. Two shallow parities that agree are not empty.
    odd_even_min_sigma: float = 3.0
    # Secondary flagged when sigma_sec / Fred - FA1 exceeds this (DAVE RoboVet.sig_sec: 0;
    # Robovetter DR25 MOD_VAL4_DV_THRESH: 1).
    secondary_margin: float = 0.0
    # The folded primary is transit-like when MS1 = sigma_pri / max(Fred, 1) - FA1,
    # MS2 = sigma_pri - sigma_ter - FA2 and MS3 = sigma_pri - sigma_pos - FA2 are at least
    # these (Robovetter DR25 MOD_VAL1-3_DV_THRESH: the primary may fall 1, 2 and 4 sigma
    # short of the false-alarm thresholds). LEO-vetter's TESS margins (+0.2, +0.8, +0.8)
    # flag 67% of injected SNR-7.1 transits in real TESS noise with our statistics, these
    # 12% (docs/benchmarks.md).
    min_ms1: float = -1.0
    min_ms2: float = -2.0
    min_ms3: float = -4.0
    # A secondary is a planetary occultation, not a stellar eclipse, with an albedo below
    # max_albedo, a planet below max_occultation_radius (Earth radii) and a depth below
    # max_occultation_depth_ratio of the primary's (Robovetter DR25 PLANET_OCCULT).
    max_albedo: float = 1.0
    max_occultation_radius: float = 30.0
    max_occultation_depth_ratio: float = 0.1
    # Centroid shift significance, sigma: DAVE minProbDiffImgCentroidForFail = 0.99,
    # chi-square (2 dof) 9.21, square root 3.03.
    centroid_sigma: float = 3.03
    # Implied source distance, pixels, that puts the source off target: at least this
    # (ours: 0.2 px, ten times the offsets of real on-target eclipses, 0.01-0.03 px) and
    # at least contamination x APERTURE_RADIUS_PX, the offset from the target of the
    # out-of-transit light centroid when other stars give the contaminating flux.
    centroid_min_offset: float = 0.2
    # Background excess significance, sigma, against the excess's scatter at null epochs
    # (ours: 3 sigma; measured false-alarm rate in docs/benchmarks.md), and
    # the least fraction of the flux deficit it must explain (ours: half).
    background_sigma: float = 3.0
    background_min_fraction: float = 0.5
    # Trapezoid ingress / total duration above which the event is V-shaped (ours: the
    # ratio reaches 0.5 when grazing, Robovetter DR25 SHAPE_THRESH b + Rp/R* > 1.04;
    # 0.45 leaves room for fit noise).
    max_vshape: float = 0.45
    # Duration over the longest central transit of this star (ours: an orbit with
    # e <= 0.6 lengthens a transit at most (1 + e) / sqrt(1 - e^2) = 2 times).
    max_duration_ratio: float = 2.0
    # Sinusoid over transit variance explained; above 1 the sinusoid fits better.
    max_harmonic_ratio: float = 1.0
    # Flagged above this fraction of suspect events (Robovetter DR25 TRANS_GAPPED: half);
    # a gap is longer than gap_days, days (ours); an event with under min_coverage of
    # its cadences is gapped (ours); dump_cadences cadences either side of a momentum dump
    # are distrusted (ours: the pointing settles within one cadence of 2 min or longer,
    # and the dump's own cadences are flagged).
    max_systematic_fraction: float = 0.5
    # A half-day bin of a sector is crowded when more stars hold an event of a signal of
    # at most three events there than a binomial draw at the sector's typical rate gives
    # at this chance per bin (Robovetter DR25 Skye: 1e-4 to 5e-4 per bin and CCD; ours
    # 1e-3 per bin and sector, about 0.05 false crowded bins per 27-day sector; 0: off).
    # A signal whose events outside crowded bins fall below min_snr is SYSTEMATIC.
    crowded_false_alarm: float = 1e-3
    # Individual transit depths disagree when the chance of their chi-square under one
    # depth is below event_false_alarm (ours: 1e-3, 3.1 sigma), each error grown by
    # event_depth_tolerance of the depth (ours: spots and detrending move single depths
    # by up to a quarter; measured on real planets and nulls in docs/benchmarks.md).
    event_false_alarm: float = 1e-3
    event_depth_tolerance: float = 0.25
    # Signals of at most chases_max_transits transits are checked for rival dips near
    # each transit; flagged when the median chases metric is below min_chases
    # (LEO-vetter: 5 and 0.8; ours 0.5: LEO's 0.8 flags 6% of injected SNR-7.1 transits
    # that pass the snr test in real TESS noise, 0.5 flags 0.6%, and still 76% of
    # transit-free ephemerides; docs/benchmarks.md).
    chases_max_transits: int = 5
    min_chases: float = 0.5
    gap_days: float = 0.5
    min_coverage: float = 0.5
    dump_cadences: int = 1
    # Largest planet radius, Earth radii (LEO-vetter's limit; the largest known planets,
    # inflated hot Jupiters, reach about 2.2 R_Jup = 24.7 R_earth), and how far beyond it
    # a signal must be, in units of the radius error from the stellar radius's fractional
    # error (TIC v8 radii: ~10%), to be called too large for a planet.
    max_radius: float = 25.0
    stellar_radius_error: float = 0.1
    radius_sigma: float = 2.0
    # Smallest SNR (Kepler TPS and TESS SPOC threshold 7.1; DAVE uses 10) and number of
    # transits with data (1: single transits allowed, and noted).
    min_snr: float = 7.1
    min_transits: int = 1

    @classmethod
    def from_dict(cls, options: Mapping) -> VetConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "vet")


VetTest = Callable[[LightCurve, LightCurve, Signal, VetConfig], VetResult]


@dataclass(frozen=True)
class VetSpec:
    """What a failure of a registered test argues for, whether it is a binary's own
    signature (``physical``: a measurement of the system, not of the noise), and the extra
    numbers it reports."""

    argues: str
    extras: tuple[str, ...] = ()
    physical: bool = False


#: Every vetting test by name, in the order they run.
REGISTRY: dict[str, VetTest] = {}
#: Each registered test's disposition and extra numbers (the table's extra columns).
SPECS: dict[str, VetSpec] = {}


def register(name: str, argues: str, extras: tuple[str, ...] = (),
             physical: bool = False) -> Callable[[VetTest], VetTest]:
    """Decorator adding a test to :data:`REGISTRY` as ``name``.

    ``argues`` is the disposition its failure argues for, ``extras`` the names of the
    extra numbers its results carry; a ``physical`` test's failure (which must argue EB)
    outranks LOW_SNR and SYSTEMATIC (see :func:`disposition`).
    """
    if argues not in DISPOSITIONS or (physical and argues != "EB"):
        raise ValueError(f"vetting test {name!r}: unknown disposition {argues!r}")

    def add(test: VetTest) -> VetTest:
        REGISTRY[name] = test
        SPECS[name] = VetSpec(argues, extras, physical)
        return test

    return add


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
        of this signal (:func:`independent`) are masked as the search masked them
        (:func:`transitflow.search.mask_width`, T14 measured on ``detrended``), so that
        another planet's transits pass neither for this one's secondary eclipse, nor for
        an odd/even difference, nor for noise in its fold: dropped from ``detrended``
        and flagged ``OTHER_SIGNAL_BIT`` in ``lc`` (observed, so no gap).

    Returns
    -------
    list of VetResult
        One per registered test, in registry order.
    """
    masked = [other for other in others if independent(other, signal, lc.time)]
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
    return [test(lc, detrended, signal, config) for test in REGISTRY.values()]


def independent(other: Signal, signal: Signal, time: np.ndarray) -> bool:
    """Whether ``other`` is a separate body, not part of ``signal``'s own phase curve.

    Two periodic signals are one system when they have the same period, so closely that
    their events drift against each other by less than the sum of their durations over
    the data (a secondary eclipse found separately, at any phase), or when every event
    of the longer-period one lies within that sum of a transit of the other, which
    chance would do with a probability under ``COINCIDENCE_CHANCE``, and keeps its place
    on them, drifting by less than that sum over the data (an alias, or both
    eclipses folded at half the period). A single event is part of a signal whose
    transit it overlaps. Another planet's transits overlap only now and then, or, near a
    resonance, drift across the other's.
    """
    overlap = other.duration + signal.duration
    if not (other.periodic and signal.periodic):
        single, rest = (other, signal) if not other.periodic else (signal, other)
        return bool(abs(rest.offset(np.array([single.epoch]))[0]) >= 0.5 * overlap)
    short, long = sorted((other, signal), key=lambda s: s.period)
    cycles_in_data = float(np.ptp(time)) / long.period
    drift = abs(long.period - short.period) * cycles_in_data
    harmonic = round(long.period / short.period)
    harmonic_drift = abs(long.period - harmonic * short.period) * cycles_in_data
    cycles = np.arange(math.ceil((time.min() - long.epoch) / long.period),
                       math.floor((time.max() - long.epoch) / long.period) + 1)
    events = long.epoch + cycles * long.period
    events = events[_distance(events, time) < 0.5 * long.duration]
    chance = min(1.0, 2.0 * overlap / short.period) ** len(events)
    on_short = (chance < COINCIDENCE_CHANCE and harmonic_drift < overlap
                and bool(np.all(np.abs(short.offset(events)) < overlap)))
    return not (drift < overlap or on_short)


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
        others = [other for other in signals if other is not signal]
        results = vet_signal(lc, signal, config, detrended=detrended, others=others)
        rows.append(vetting_row(signal, results, *disposition(signal, results, config)))
    return rows


def disposition(signal: Signal, results: Iterable[VetResult],
                config: VetConfig) -> tuple[str, list[str]]:
    """The disposition and ``"test: reason"`` of every failed test.

    LOW_SNR wins over SYSTEMATIC, SYSTEMATIC over BEB (a centroid failure: pointing
    systematics such as momentum dumps move centroids too), BEB over EB; but a binary's own
    signature (a failed secondary, odd/even or radius test) makes LOW_SNR or SYSTEMATIC an
    EB. PC when no test fails. ``config`` keeps the interface uniform: the thresholds act
    inside the tests, which made ``results`` with it.
    """
    failed = [r for r in results if r.flag]
    unknown = sorted({r.test for r in failed} - SPECS.keys())
    if unknown:
        raise ValueError(f"{signal.key}: no disposition for unregistered tests {unknown}")
    argued = {SPECS[r.test].argues for r in failed}
    label = next((d for d in DISPOSITIONS if d in argued), "PC")
    if label in ("LOW_SNR", "SYSTEMATIC") and any(SPECS[r.test].physical for r in failed):
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


# --- shared measurements ------------------------------------------------------------


def _cycle(time: np.ndarray, signal: Signal) -> np.ndarray:
    """Number of the nearest transit, 0 at the epoch."""
    if not signal.periodic:
        return np.zeros(len(time), dtype=np.int64)
    return np.round((time - signal.epoch) / signal.period).astype(np.int64)


def _in_transit(time: np.ndarray, signal: Signal, frac: float = 1.0) -> np.ndarray:
    """Cadences within the central ``frac`` of the duration."""
    return np.abs(signal.offset(time)) < 0.5 * frac * signal.duration


def _scatter(values: np.ndarray) -> float:
    """Robust standard deviation (1.4826 MAD)."""
    return float(MAD_TO_STD * np.median(np.abs(values - np.median(values))))


def _relative(lc: LightCurve) -> np.ndarray:
    """Flux minus its median: about 0 out of transit, negative in transit."""
    flux = lc.flux.astype(np.float64)
    return flux - np.median(flux)


def _false_alarm(signal: Signal, trials: float) -> float:
    """Modshift false-alarm threshold, sigma: sqrt(2) erfcinv(T / (P trials))."""
    return float(math.sqrt(2.0) * erfcinv(signal.duration / (signal.period * trials)))


def _skip(test: str, reason: str) -> VetResult:
    return VetResult(test, NAN, NAN, False, reason)


def _ppm(depth: float) -> str:
    return f"{depth * 1e6:.0f} ppm"


@dataclass(frozen=True)
class _Estimate:
    """A measured value and its one-sigma error."""

    value: float
    err: float

    @property
    def sigma(self) -> float:
        return self.value / self.err if self.err > 0 else NAN


@dataclass(frozen=True)
class _Noise:
    """White noise per cadence and red-noise factor of detrended flux away from transits."""

    sigma: float
    beta: float


def _noise(detrended: LightCurve, signal: Signal) -> _Noise:
    """Noise of the detrended flux farther than a duration from transits.

    ``sigma`` is its robust scatter; ``beta`` (Pont et al. 2006), at least 1, the robust
    scatter of duration-long bin means over their white-noise expectation.
    """
    flux = _relative(detrended)
    far = np.abs(signal.offset(detrended.time)) >= NOISE_GAP * signal.duration
    if far.sum() < 2:
        return _Noise(NAN, 1.0)
    time, flux = detrended.time[far], flux[far]
    sigma = _scatter(flux)
    bins = np.floor((time - time[0]) / signal.duration).astype(np.int64)
    counts, sums = np.bincount(bins), np.bincount(bins, flux)
    full = counts >= 0.5 * counts.max()
    if full.sum() < 5 or sigma <= 0:
        return _Noise(sigma, 1.0)
    z = sums[full] / np.sqrt(counts[full]) / sigma
    return _Noise(sigma, max(1.0, _scatter(z)))


def _depth(detrended: LightCurve, signal: Signal, noise: _Noise, select: np.ndarray,
           frac: float = 1.0) -> _Estimate:
    """Mean depth of the selected cadences in the central ``frac`` of the duration.

    The error is the white noise over the square root of the number of cadences, times
    the red-noise factor; NaN without cadences.
    """
    inside = select & _in_transit(detrended.time, signal, frac)
    n = int(inside.sum())
    if n == 0:
        return _Estimate(NAN, NAN)
    return _Estimate(float(-_relative(detrended)[inside].mean()),
                     noise.sigma * noise.beta / math.sqrt(n))


def _contrast(time: np.ndarray, values: np.ndarray, signal: Signal,
              breaks: Sequence[float] = ()) -> _Estimate:
    """In-transit minus local out-of-transit level of a time series, over transits.

    Per transit (:func:`_transit_fits`), a least-squares fit to the cadences in transit and
    1-2 durations from mid-transit, with a linear drift and a level of its own for each
    stretch between ``breaks`` (times where the series jumps). The point-to-point scatter
    is the per-cadence noise; transits are averaged with inverse-variance weights. With
    three or more transits the error grows by the square root of the reduced chi-square of
    the per-transit values, if above 1. A noiseless series has error 0 (and a NaN
    significance).
    """
    return _combined(_transit_fits(time, values, signal, breaks), values)


def _transit_fits(time: np.ndarray, values: np.ndarray, signal: Signal,
                  breaks: Sequence[float] = ()) -> np.ndarray:
    """Per transit with a usable baseline, its contrast and variance factor
    (:func:`_transit_contrast`) and its cycle number, as rows of a (n, 3) array."""
    offset = signal.offset(time) / signal.duration
    near, far = BASELINE_DURATIONS
    used = (np.abs(offset) < 0.5) | ((np.abs(offset) >= near) & (np.abs(offset) < far))
    cycle = _cycle(time, signal)[used]
    stretch = np.searchsorted(np.sort(np.asarray(breaks, dtype=float)), time[used])
    fits = [(c, _transit_contrast(offset[used][cycle == c], values[used][cycle == c],
                                  stretch[cycle == c])) for c in np.unique(cycle)]
    return np.array([(*fit, c) for c, fit in fits if fit is not None]).reshape(-1, 3)


def _combined(fits: np.ndarray, values: np.ndarray) -> _Estimate:
    """The inverse-variance mean of per-transit contrasts (see :func:`_contrast`)."""
    if not len(fits):
        return _Estimate(NAN, NAN)
    diffs, spreads = fits[:, 0], fits[:, 1]
    noise = _scatter(np.diff(values)) / math.sqrt(2.0)
    if noise == 0:
        return _Estimate(float(diffs.mean()), 0.0)
    errs = noise * np.sqrt(spreads)
    mean, err = inverse_variance_mean(diffs, errs)
    if len(diffs) >= 3:
        chi2 = float(np.sum(((diffs - mean) / errs) ** 2)) / (len(diffs) - 1)
        err *= math.sqrt(max(1.0, chi2))
    return _Estimate(mean, err)


def _calibrated_contrast(time: np.ndarray, values: np.ndarray, signal: Signal,
                         breaks: Sequence[float] = ()) -> _Estimate:
    """:func:`_contrast`, its error at least the root mean square (about zero, the null's
    value) of one event's contrast at null epochs (:func:`_null_epochs`) over the square
    root of the transits: the series' own red noise on the transit's time scale
    (scattered light, pointing drifts), which point-to-point scatter misses. With fewer
    than :data:`MIN_NULL_EPOCHS` null epochs (a period too short for them) the error stays
    the point-to-point one. Measured on real light curves at random ephemerides in
    docs/benchmarks.md."""
    fits = _transit_fits(time, values, signal, breaks)
    measured = _combined(fits, values)
    reach = (BASELINE_DURATIONS[1] + 0.5) * signal.duration
    event = replace(signal, kind="single", period=NAN)
    nulls = []
    for epoch in _null_epochs(signal, time):
        window = slice(*np.searchsorted(time, [epoch - reach, epoch + reach]))
        nulls.append(_contrast(time[window], values[window], replace(event, epoch=epoch),
                               breaks).value)
    nulls = np.array(nulls)[np.isfinite(nulls)]
    if len(nulls) < MIN_NULL_EPOCHS or not math.isfinite(measured.err):
        return measured
    null_err = float(np.sqrt(np.mean(nulls ** 2))) / math.sqrt(len(fits))
    return _Estimate(measured.value, max(measured.err, null_err))


def _null_epochs(signal: Signal, time: np.ndarray) -> np.ndarray:
    """Up to :data:`NULL_EPOCHS` epochs of one event whose window and baseline miss the
    signal's events: for a single event the nearest such times either side (the noise
    where it lies, as a scattered-light ramp at an orbit's end); for a periodic signal
    times spread evenly over the light curve between its transits."""
    reach = (BASELINE_DURATIONS[1] + 0.5) * signal.duration
    grid = np.arange(time.min() + reach, time.max() - reach, reach)
    if signal.periodic:
        grid = grid[np.abs(signal.offset(grid)) >= 2 * reach]
        return grid[np.linspace(0, len(grid) - 1, min(NULL_EPOCHS, len(grid))).astype(int)]
    grid = grid[np.abs(grid - signal.epoch) >= 2 * reach]
    return grid[np.argsort(np.abs(grid - signal.epoch), kind="stable")][:NULL_EPOCHS]


def _transit_contrast(offset: np.ndarray, values: np.ndarray,
                      stretch: np.ndarray) -> tuple[float, float] | None:
    """One transit's in-transit contrast and its variance per unit cadence variance.

    ``offset`` in durations from mid-transit, ``stretch`` the index of each cadence's
    stretch between breaks. None without baseline cadences both before and after the
    transit and in every stretch, or without cadences in transit.
    """
    inside = np.abs(offset) < 0.5
    stretches = np.unique(stretch)
    if not (inside.any() and (offset[~inside] < 0).any() and (offset[~inside] > 0).any()
            and np.isin(stretches, stretch[~inside]).all()):
        return None
    design = np.column_stack([inside, offset, stretch[:, None] == stretches]).astype(float)
    if np.linalg.matrix_rank(design) < design.shape[1]:
        return None
    coef = np.linalg.lstsq(design, values, rcond=None)[0]
    return float(coef[0]), float(np.linalg.inv(design.T @ design)[0, 0])


def _a_over_rstar(signal: Signal, lc: LightCurve) -> float:
    """a/R*: from the stellar density when known, else from the duration (central transit)."""
    density = stellar_density(lc.meta)
    if math.isfinite(density):
        return scaled_semi_major_axis(density, signal.period)
    return signal.period / (math.pi * signal.duration)


# --- odd/even -----------------------------------------------------------------------


#: Variance inflation of the odd/even difference above which the parities are taken as
#: sampled at different parts of the transit (a common multicollinearity limit).
MAX_PARITY_VIF = 10.0


@register("odd_even", argues="EB", physical=True,
          extras=("odd_depth", "even_depth", "odd_depth_err", "even_depth_err"))
def odd_even(lc: LightCurve, detrended: LightCurve, signal: Signal,
             config: VetConfig) -> VetResult:
    """Odd against even transit depths: the light curve folded at twice the period.

    An eclipsing binary found at half its period shows its primary and secondary eclipses
    as odd and even transits (DAVE re-vets such signals at twice the period). Each depth
    is the mean detrended flux over the central ``odd_even_duration_frac`` of the
    duration. Their difference is fitted on a profile both parities share
    (:func:`_parity_difference`), so that transits sampled at different phases of a long
    cadence compare fairly, with errors grown by the excess scatter of the per-transit
    depths. Flagged when the difference exceeds the modshift false-alarm threshold FA1
    (DAVE RoboVet ODD_EVEN_DIFF) and no parity is empty (:func:`_one_parity_empty`): with
    one parity empty the period is twice as long, and there are no two eclipses to compare.
    """
    if not signal.periodic:
        return _skip("odd_even", "single transit: no odd/even comparison")
    noise = _noise(detrended, signal)
    odd = _cycle(detrended.time, signal) % 2 == 1
    frac = config.odd_even_duration_frac
    d_odd, d_even = (_depth(detrended, signal, noise, sel, frac) for sel in (odd, ~odd))
    if not (math.isfinite(d_odd.value) and math.isfinite(d_even.value)):
        return _skip("odd_even", "no odd or no even transit with data")
    fit = _parity_difference(detrended, signal, noise, frac)
    if fit is None:
        return _skip("odd_even", "odd and even transits sampled at different phases only: "
                                 "no comparison")
    diff, scale = fit
    d_odd, d_even = (_Estimate(d.value, d.err * scale) for d in (d_odd, d_even))
    sigma = abs(diff.sigma)
    threshold = _false_alarm(signal, config.false_alarm_trials)
    reason = (f"odd {_ppm(d_odd.value)} vs even {_ppm(d_even.value)}, "
              f"{_ppm(abs(diff.value))} apart on a common profile: {sigma:.1f} sigma "
              f"(FA1 {threshold:.1f})")
    empty = _one_parity_empty(d_odd, d_even, config.odd_even_min_sigma)
    if empty:
        reason += "; one parity has no transit: the period may be twice as long"
    mean = 0.5 * (d_odd.value + d_even.value)
    extra = {"odd_depth": d_odd.value, "even_depth": d_even.value,
             "odd_depth_err": d_odd.err, "even_depth_err": d_even.err}
    return VetResult("odd_even", abs(diff.value / mean) if mean else NAN, sigma,
                     sigma > threshold and not empty, reason, extra)


def _one_parity_empty(odd: _Estimate, even: _Estimate, min_sigma: float) -> bool:
    """Whether the shallower parity has no eclipse: its depth is below ``min_sigma`` and the
    other parity's is ``min_sigma`` deeper. Low per-parity SNR alone does not empty one."""
    shallow, deep = sorted((odd, even), key=lambda estimate: estimate.value)
    apart = (deep.value - shallow.value) / math.hypot(deep.err, shallow.err)
    return shallow.sigma < min_sigma and apart > min_sigma


def _parity_difference(detrended: LightCurve, signal: Signal, noise: _Noise,
                       frac: float) -> tuple[_Estimate, float] | None:
    """Odd minus even depth over the central ``frac`` of the duration, and the error scale.

    A least-squares fit of the in-transit depths with a parabola in the time from
    mid-transit, shared by both parities (the transit's limb-darkened and exposure-smeared
    bottom, and an epoch slightly off, to second order), plus half the difference for odd
    and minus half for even transits, solved by projecting the parabola out of both (the
    Frisch-Waugh-Lovell theorem). Its error is the white noise times the red-noise factor,
    times the scale :func:`_excess_scatter` of the per-transit residuals. None when the
    parities are sampled at different parts of the profile, so that the parabola can take
    up the difference: when the parabola explains all but a :data:`MAX_PARITY_VIF`-th of the
    parity's variance (e.g. a period of a whole and a half cadences).
    """
    offset = signal.offset(detrended.time)
    inside = np.abs(offset) < 0.5 * frac * signal.duration
    x = offset[inside] / signal.duration
    cycle = _cycle(detrended.time, signal)[inside]
    profile = np.column_stack([np.ones_like(x), x, x ** 2])
    odd = np.where(cycle % 2 == 1, 0.5, -0.5)
    parity = _residual(profile, odd)
    information = float(parity @ parity)
    if information * MAX_PARITY_VIF <= float(np.sum((odd - odd.mean()) ** 2)):
        return None
    depth = _residual(profile, -_relative(detrended)[inside])
    diff = float(parity @ depth) / information
    white = (noise.sigma * noise.beta) ** 2
    scale = _excess_scatter(cycle, depth - diff * parity, white)
    return _Estimate(diff, math.sqrt(white / information) * scale), scale


def _residual(design: np.ndarray, values: np.ndarray) -> np.ndarray:
    """What the columns of ``design`` leave of ``values`` in a least-squares fit."""
    return values - design @ np.linalg.lstsq(design, values, rcond=None)[0]


def _excess_scatter(cycle: np.ndarray, residuals: np.ndarray, white: float) -> float:
    """Square root of the reduced chi-square of per-transit mean residuals, at least 1.

    ``white`` is the per-cadence variance; with under three transits, 1.
    """
    transits, index = np.unique(cycle, return_inverse=True)
    if len(transits) < 3 or white <= 0:
        return 1.0
    counts = np.bincount(index)
    means = np.bincount(index, residuals) / counts
    chi2 = float(np.sum(counts * means ** 2) / white) / (len(transits) - 2)
    return math.sqrt(max(1.0, chi2))


# --- secondary (modshift) -----------------------------------------------------------


@dataclass(frozen=True)
class ModShift:
    """Modshift events of a phase-folded light curve (Coughlin et al. 2014, 2016).

    Phases run 0-1 with the primary at 0 (NaN for an event with no room left), depths are
    box means (fractions), significances are over white noise (0 for a missing event);
    ``fred`` is the red-noise ratio, the scatter of the significance curve away from
    the primary and secondary; ``fa1`` and ``fa2`` the false-alarm thresholds.
    """

    phase_pri: float
    phase_sec: float
    phase_ter: float
    phase_pos: float
    depth_pri: float
    depth_sec: float
    sigma_pri: float
    sigma_sec: float
    sigma_ter: float
    sigma_pos: float
    fred: float
    fa1: float
    fa2: float


def modshift(detrended: LightCurve, signal: Signal, trials: float = 20000) -> ModShift:
    """Box-convolve the folded light curve and locate the modshift events.

    At each phase (bins of a tenth of the duration) the depth is the mean flux of a
    one-duration box below that of half-duration flanks on both sides, so variability
    slower than the transit (ellipsoidal, reflection) cancels. The primary is the deepest
    box within two durations of phase 0; the secondary the deepest farther than two
    durations from it; the tertiary the deepest farther than two from both; the positive
    event the highest farther than three (as modshift-v4.cpp). None of their boxes or
    flanks may reach into the primary eclipse (:func:`_eclipse_reach`), which can be
    longer than the signal's duration says.
    """
    n_bins = max(math.ceil(MODSHIFT_BINS_PER_DURATION * signal.period / signal.duration),
                 4 * MODSHIFT_BINS_PER_DURATION)
    flux = _relative(detrended)
    phase = ((detrended.time - signal.epoch) / signal.period) % 1.0
    index = np.minimum((phase * n_bins).astype(np.int64), n_bins - 1)
    counts = np.bincount(index, minlength=n_bins).astype(np.float64)
    sums = np.bincount(index, flux, minlength=n_bins)
    width = max(2, round(n_bins * signal.duration / signal.period))
    lo, hi, flank = -(width // 2), width - width // 2, width // 2
    n_box, s_box = _box_sum(counts, lo, hi), _box_sum(sums, lo, hi)
    n_out = _box_sum(counts, lo - flank, lo) + _box_sum(counts, hi, hi + flank)
    s_out = _box_sum(sums, lo - flank, lo) + _box_sum(sums, hi, hi + flank)
    valid = (n_box > 0) & (n_out > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = np.where(valid, s_out / n_out - s_box / n_box, np.nan)
        scale = np.sqrt(1.0 / n_box + 1.0 / n_out)
    centres = np.arange(n_bins) / n_bins
    gap = signal.duration / signal.period

    near_zero = np.abs(_phase_distance(centres, 0.0)) < EVENT_GAP * gap
    pri = _strongest(depth, valid & near_zero)
    reach = 0.0 if pri is None else (
        _eclipse_reach(counts, sums, _scatter(flux), pri) + hi + flank) / n_bins

    def away(*events: int, by: float) -> np.ndarray:
        keep = valid.copy()
        for i in events:
            radius = max(by * gap, reach) if i == pri else by * gap
            keep &= np.abs(_phase_distance(centres, centres[i])) >= radius
        return keep

    sec = None if pri is None else _strongest(depth, away(pri, by=EVENT_GAP))
    events = [i for i in (pri, sec) if i is not None]
    ter = _strongest(depth, away(*events, by=EVENT_GAP))
    pos = _strongest(-depth, away(*events, by=POSITIVE_GAP))
    quiet = np.ones(len(flux), dtype=bool)
    for i in events:
        quiet &= np.abs(_phase_distance(phase, centres[i])) >= NOISE_GAP * gap
    noise = _scatter(flux[quiet] if quiet.sum() > 1 else flux)
    with np.errstate(invalid="ignore", divide="ignore"):
        significance = depth / (noise * scale)
    calm = away(*events, by=EVENT_GAP)

    def at(i: int | None, values: np.ndarray, missing: float) -> float:
        return missing if i is None else float(values[i])

    return ModShift(
        phase_pri=at(pri, centres, NAN), phase_sec=at(sec, centres, NAN),
        phase_ter=at(ter, centres, NAN), phase_pos=at(pos, centres, NAN),
        depth_pri=at(pri, depth, NAN), depth_sec=at(sec, depth, NAN),
        sigma_pri=at(pri, significance, 0.0), sigma_sec=at(sec, significance, 0.0),
        sigma_ter=at(ter, significance, 0.0), sigma_pos=-at(pos, significance, 0.0),
        fred=float(np.std(significance[calm])) if calm.sum() > 1 else NAN,
        fa1=_false_alarm(signal, trials), fa2=_false_alarm(signal, 1.0))


def _eclipse_reach(counts: np.ndarray, sums: np.ndarray, noise: float, pri: int) -> int:
    """Phase bins from the primary's to the farthest bin of its eclipse, on either side.

    The eclipse goes on through bins without data and bins more than three sigma below
    the baseline (``noise`` per cadence): a long cadence commensurate with the period
    samples the eclipse at a few phases, between which a short duration leaves its
    ingress and egress outside the primary's box.
    """
    dark = (counts == 0) | (sums < -3.0 * noise * np.sqrt(counts))
    reach = 0
    for step in (1, -1):
        k = 1
        while k < len(counts) // 2 and dark[(pri + step * k) % len(counts)]:
            k += 1
        reach = max(reach, k - 1)
    return reach


def _box_sum(values: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Circular sum, for each bin k, over bins k + start ... k + stop - 1."""
    n = len(values)
    cumulative = np.concatenate([[0.0], np.cumsum(np.tile(values, 3))])
    k = np.arange(n) + n
    return cumulative[k + stop] - cumulative[k + start]


def _strongest(values: np.ndarray, allowed: np.ndarray) -> int | None:
    """Index of the largest allowed value; None when nothing is allowed."""
    if not allowed.any():
        return None
    return int(np.argmax(np.where(allowed, values, -np.inf)))


def _phase_distance(phase: np.ndarray, centre: float) -> np.ndarray:
    """Signed phase difference, wrapped to [-0.5, 0.5)."""
    return (phase - centre + 0.5) % 1.0 - 0.5


@register("secondary", argues="EB", physical=True,
          extras=("secondary_phase", "secondary_depth", "sigma_pri", "sigma_sec", "sigma_ter",
                   "sigma_pos", "fred", "fa1", "fa2", "albedo"))
def secondary(lc: LightCurve, detrended: LightCurve, signal: Signal,
              config: VetConfig) -> VetResult:
    """Modshift secondary-eclipse search at every phase away from the primary.

    Flagged, as DAVE RoboVet.sig_sec and Robovetter DR25 MOD_SEC, when the secondary is
    significant against red noise (sigma_sec / max(Fred, 1) - FA1 > ``secondary_margin``)
    and stands FA2 above the tertiary and positive events - unless it can be the planet's
    occultation (albedo, radius and depth ratio within the Robovetter limits) or equals
    the primary at phase 0.5 (the period is then half as long).
    """
    if not signal.periodic:
        return _skip("secondary", "single transit: no phase-folded secondary search")
    ms = modshift(detrended, signal, config.false_alarm_trials)
    if not (math.isfinite(ms.phase_pri) and math.isfinite(ms.phase_sec)):
        return _skip("secondary", "phase coverage too small for a secondary search")
    albedo = (ms.depth_sec * _a_over_rstar(signal, lc) ** 2 / ms.depth_pri
              if ms.depth_pri > 0 else NAN)
    red = ms.sigma_sec / _red_noise_ratio(ms)
    significant = (red - ms.fa1 > config.secondary_margin
                   and ms.sigma_sec - ms.sigma_ter > ms.fa2
                   and ms.sigma_sec - ms.sigma_pos > ms.fa2)
    found = (f"secondary at phase {ms.phase_sec:.3f}, {_ppm(ms.depth_sec)}, {red:.1f} sigma "
             f"over red noise (FA1 {ms.fa1:.1f})")
    flag = False
    if not significant:
        reason = f"no significant secondary; strongest {found}"
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
        return _skip("uniqueness", "single transit: no phase-folded comparison")
    ms = modshift(detrended, signal, config.false_alarm_trials)
    if not (math.isfinite(ms.phase_pri) and math.isfinite(ms.sigma_pri)):
        return _skip("uniqueness", "no primary, or no noise estimate, in the folded light "
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


def _period_is_half(ms: ModShift, signal: Signal) -> bool:
    """Robovetter DR25 PLANET_PERIOD_IS_HALF: at phase 0.5 and as significant as the primary."""
    at_half = abs(0.5 - ms.phase_sec) * signal.period < 0.25 * signal.duration
    return at_half and abs(ms.sigma_pri - ms.sigma_sec) < ms.fa2


def _planet_occultation(ms: ModShift, signal: Signal, albedo: float, config: VetConfig) -> bool:
    """Robovetter DR25 PLANET_OCCULT; an unknown planet radius does not rule it out."""
    small = not signal.radius_earth > config.max_occultation_radius
    return (0.0 < albedo < config.max_albedo and small
            and ms.depth_sec < config.max_occultation_depth_ratio * ms.depth_pri)


# --- pixel level: centroid and background ------------------------------------------


@register("centroid", argues="BEB",
          extras=("dcol", "drow", "offset_px", "offset_err_px", "offset_arcsec"))
def centroid(lc: LightCurve, detrended: LightCurve, signal: Signal,
             config: VetConfig) -> VetResult:
    """In-transit minus out-of-transit flux-weighted centroid (as SPOC DV's centroid test).

    A source that dims by the whole observed depth sits ``shift (1 / depth - 1)`` pixels
    from the out-of-transit centroid (SPOC DV, Twicken et al. 2018), the depth measured on
    the same cadences as the shift; its error is the shift's carried through, and arcsec
    use the mission's pixel scale (:data:`PIXEL_ARCSEC`).
    Flagged when the shift is significant (the square root of its two-degree-of-freedom
    chi-square) and that source is farther than a transit on the target could put it
    (:func:`_on_target_offset`). The spacecraft settles at a slightly different pointing
    after each momentum dump, so the centroids get a level of their own between dumps.
    """
    good = lc.good(USABLE)
    good = good.select(np.isfinite(good.centroid_col) & np.isfinite(good.centroid_row))
    if len(good) == 0:
        return _skip("centroid", "no centroid data")
    dumps = lc.time[(lc.quality & MOMENTUM_DUMP_BIT) != 0]
    col, row = (_contrast(good.time, values.astype(np.float64), signal, breaks=dumps)
                for values in (good.centroid_col, good.centroid_row))
    if not (math.isfinite(col.sigma) and math.isfinite(row.sigma)):
        return _skip("centroid", "no centroid contrast: constant centroids, or no transit "
                                 "with centroids in and out of transit")
    sigma = math.hypot(col.sigma, row.sigma)
    shift = math.hypot(col.value, row.value)
    flux = good.flux.astype(np.float64) / float(np.median(good.flux))
    depth = -_contrast(good.time, flux, signal).value
    lever = 1.0 / depth - 1.0 if 0 < depth < 1 else NAN
    offset, offset_err = shift * lever, shift / sigma * lever if sigma > 0 else NAN
    flag = sigma > config.centroid_sigma and offset >= _on_target_offset(lc, config)
    scale = PIXEL_ARCSEC.get(lc.meta.mission, PIXEL_ARCSEC["TESS"])
    reason = (f"centroid shift {shift:.2g} px ({sigma:.1f} sigma): source {offset:.2f} +- "
              f"{offset_err:.2f} px ({offset * scale:.0f} +- {offset_err * scale:.0f} arcsec) "
              "from the target centroid")
    extra = {"dcol": col.value, "drow": row.value, "offset_px": offset,
             "offset_err_px": offset_err, "offset_arcsec": offset * scale}
    return VetResult("centroid", shift, sigma, flag, reason, extra)


def _on_target_offset(lc: LightCurve, config: VetConfig) -> float:
    """Largest implied source distance, pixels, of a transit on the target.

    A transit on the target moves the centroid as if the source sat at the out-of-transit
    light centroid's distance from the target: the contamination times the distance of
    the contaminating light, at most ``APERTURE_RADIUS_PX``; ``centroid_min_offset`` at
    least. Unknown contamination counts as none.
    """
    contamination = lc.meta.contamination if math.isfinite(lc.meta.contamination) else 0.0
    return max(config.centroid_min_offset, contamination * APERTURE_RADIUS_PX)


@register("background", argues="SYSTEMATIC",
          extras=("excess", "correlation"))
def background(lc: LightCurve, detrended: LightCurve, signal: Signal,
               config: VetConfig) -> VetResult:
    """Background rising in transit: a dip made by background over-subtraction.

    The in-transit background excess is set against the flux deficit on the same
    cadences (both in flux units). Flagged when the excess is significant against the
    background's own scatter at null epochs (:func:`_calibrated_contrast`)
    and explains at least ``background_min_fraction`` of the dip.
    """
    good = lc.good(USABLE)
    good = good.select(np.isfinite(good.background))
    if len(good) == 0:
        return _skip("background", "no background data")
    bkg = good.background.astype(np.float64)
    excess = _calibrated_contrast(good.time, bkg, signal)
    if not math.isfinite(excess.sigma):
        return _skip("background", "no background contrast: constant background, or no "
                                   "transit with background in and out of transit")
    deficit = -_contrast(good.time, good.flux.astype(np.float64), signal).value
    fraction = excess.value / deficit if deficit > 0 else NAN
    near = np.abs(signal.offset(good.time)) < BASELINE_DURATIONS[1] * signal.duration
    flag = excess.sigma > config.background_sigma and fraction >= config.background_min_fraction
    reason = (f"in-transit background excess {excess.sigma:.1f} sigma, {fraction:.0%} of "
              f"the flux deficit")
    extra = {"excess": excess.value, "correlation": _correlation(good.flux[near], bkg[near])}
    return VetResult("background", fraction, excess.sigma, flag, reason, extra)


def _correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson correlation; NaN for fewer than three points or a constant series."""
    if len(x) < 3 or np.std(x) == 0 or np.std(y) == 0:
        return NAN
    return float(np.corrcoef(x, y)[0, 1])


# --- shape --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Trapezoid:
    """A trapezoid fit: depth (fraction), total duration and ingress (days), and the
    least-squares cost (half the sum of squared count-weighted residuals)."""

    depth: float
    total: float
    ingress: float
    cost: float


@register("shape", argues="EB",
          extras=("depth", "total", "ingress", "duration_ratio"))
def shape(lc: LightCurve, detrended: LightCurve, signal: Signal,
          config: VetConfig) -> VetResult:
    """Trapezoid fit (as DAVE's trapezoidFit): V-shape, and duration against the star.

    The metric is ingress over total duration (0.5: V-shaped). V-shaped means above
    ``max_vshape`` and significantly so: a trapezoid held to ``max_vshape`` fits worse
    by a chi-square of ``SHAPE_CHI2`` or more (an ingress shorter than the cadence, at a
    period commensurate with it, leaves the two alike). With the stellar radius and mass
    (or logg) the total is compared with the longest central transit of this star on a
    circular orbit; much longer means the eclipsed star is not the target.
    """
    fit = _trapezoid_fit(detrended, signal)
    if fit is None:
        return _skip("shape", "too few cadences around the transit for a trapezoid fit")
    vshape = fit.ingress / fit.total
    ratio = fit.total / _longest_duration(signal, lc, fit.depth)
    v_shaped = vshape > config.max_vshape and _worse_flat(detrended, signal, fit, config)
    too_long = ratio > config.max_duration_ratio
    reason = f"ingress/duration {vshape:.2f}" + (" (V-shaped)" if v_shaped else "")
    if math.isfinite(ratio):
        reason += (f", duration {ratio:.2f}x the longest for this star"
                   + (" (too long)" if too_long else ""))
    extra = {"depth": fit.depth, "total": fit.total, "ingress": fit.ingress,
             "duration_ratio": ratio}
    return VetResult("shape", vshape, NAN, v_shaped or too_long, reason, extra)


def _worse_flat(detrended: LightCurve, signal: Signal, fit: _Trapezoid,
                config: VetConfig) -> bool:
    """Whether a trapezoid held to ``max_vshape`` fits worse by ``SHAPE_CHI2`` or more."""
    flat = _trapezoid_fit(detrended, signal, config.max_vshape)
    noise = _noise(detrended, signal)
    return bool(2.0 * (flat.cost - fit.cost) > SHAPE_CHI2 * (noise.sigma * noise.beta) ** 2)


def _trapezoid(x: np.ndarray, depth: float, total: float, ingress: float) -> np.ndarray:
    """Trapezoid dip: 0 outside, -depth on the flat bottom, linear ingress and egress."""
    return -depth * np.clip((0.5 * total - np.abs(x)) / ingress, 0.0, 1.0)


def _trapezoid_fit(detrended: LightCurve, signal: Signal,
                   max_vshape: float = 0.5) -> _Trapezoid | None:
    """Least-squares trapezoid, its ingress at most ``max_vshape`` of the total.

    Fitted to the folded light curve binned within ``SHAPE_WINDOW`` durations of
    mid-transit (bins weighted by their counts), the model averaged over each exposure;
    None when under half the bins have data.
    """
    duration = signal.duration
    x = signal.offset(detrended.time) / duration
    near = np.abs(x) < SHAPE_WINDOW
    n_bins = int(2 * SHAPE_WINDOW * SHAPE_BINS_PER_DURATION)
    index = ((x[near] + SHAPE_WINDOW) * SHAPE_BINS_PER_DURATION).astype(np.int64)
    counts = np.bincount(index, minlength=n_bins)
    if np.count_nonzero(counts) < n_bins // 2:
        return None
    sums = np.bincount(index, _relative(detrended)[near], minlength=n_bins)
    filled = counts > 0
    centres = ((np.flatnonzero(filled) + 0.5) / SHAPE_BINS_PER_DURATION - SHAPE_WINDOW) * duration
    flux, weight = sums[filled] / counts[filled], np.sqrt(counts[filled])
    exposure = float(np.median(np.diff(detrended.time)))
    samples = centres[:, None] + exposure * ((np.arange(SHAPE_SUBSAMPLES) + 0.5)
                                             / SHAPE_SUBSAMPLES - 0.5)

    def residuals(p: np.ndarray) -> np.ndarray:
        shift, depth, total, vshape = p
        model = _trapezoid(samples - shift, depth, total, vshape * total).mean(axis=1)
        return weight * (flux - model)

    core = np.abs(centres) < 0.25 * duration
    start = max(float(-flux[core].mean()) if core.any() else 0.0, 1e-6)
    lower = [-0.5 * duration, 0.0, 0.2 * duration, 0.01]
    upper = [0.5 * duration, 2.0 * start + 1e-3, 1.5 * SHAPE_WINDOW * duration, max_vshape]
    guess = [0.0, start, duration, min(0.2, 0.5 * max_vshape)]
    fit = least_squares(residuals, guess, bounds=(lower, upper))
    _, depth, total, vshape = fit.x
    return _Trapezoid(float(depth), float(total), float(vshape * total), float(fit.cost))


def _longest_duration(signal: Signal, lc: LightCurve, depth: float) -> float:
    """Duration of a central transit on a circular orbit, days; NaN without the star."""
    if not signal.periodic or not math.isfinite(stellar_density(lc.meta)):
        return NAN
    reach = (1.0 + math.sqrt(max(depth, 0.0))) / _a_over_rstar(signal, lc)
    return signal.period / math.pi * math.asin(min(1.0, reach))


# --- harmonics and systematics ------------------------------------------------------


@register("harmonics", argues="SYSTEMATIC",
          extras=("period", "amplitude"))
def harmonics(lc: LightCurve, detrended: LightCurve, signal: Signal,
              config: VetConfig) -> VetResult:
    """A sinusoid at P or P/2 that fits better than the transit (cf. SWEET).

    The metric is the variance a least-squares sinusoid removes over the variance the
    box transit on the signal's ephemeris removes; the significance is the sinusoid's
    amplitude over its error. Flagged when the sinusoid fits better and its full swing
    (twice the amplitude) reaches the transit depth, so that its trough alone can make
    the dip (cf. Robovetter DR25 SWEET_NTL, amplitude above depth); a smaller sinusoid
    beside a deeper eclipse is an ellipsoidal binary, left to the EB tests.
    """
    if not signal.periodic:
        return _skip("harmonics", "single transit: no period for a sinusoid")
    flux = _relative(detrended)
    inside = _in_transit(detrended.time, signal)
    n_in, n = int(inside.sum()), len(flux)
    if n_in in (0, n):
        return _skip("harmonics", "no cadences in or out of transit")
    depth = float(flux[~inside].mean() - flux[inside].mean())
    box = n_in * (n - n_in) / n * depth ** 2
    fits = [_sinusoid(detrended.time, flux, period)
            for period in (signal.period, 0.5 * signal.period)]
    period, explained, amplitude = max(fits, key=lambda fit: fit[1])
    ratio = explained / box if box > 0 else math.inf
    err = math.sqrt(max(np.var(flux) - explained / n, 0.0) * 2.0 / n)
    flag = ratio > config.max_harmonic_ratio and 2.0 * amplitude >= depth
    reason = (f"sinusoid at {period / signal.period:g}P ({_ppm(amplitude)}; transit "
              f"{_ppm(depth)}) explains {ratio:.2f}x the transit's variance")
    return VetResult("harmonics", ratio, amplitude / err if err > 0 else NAN, flag, reason,
                     {"period": period, "amplitude": amplitude})


def _sinusoid(time: np.ndarray, flux: np.ndarray, period: float) -> tuple[float, float, float]:
    """Least-squares sinusoid of a period: the period, variance removed, amplitude."""
    angle = 2.0 * np.pi * time / period
    design = np.column_stack([np.ones_like(time), np.sin(angle), np.cos(angle)])
    coef = np.linalg.lstsq(design, flux, rcond=None)[0]
    explained = float(np.sum((flux - flux.mean()) ** 2) - np.sum((flux - design @ coef) ** 2))
    return period, explained, float(math.hypot(coef[1], coef[2]))


@register("systematics", argues="SYSTEMATIC",
          extras=("events", "dumps", "gaps", "edges", "crowded"))
def systematics(lc: LightCurve, detrended: LightCurve, signal: Signal,
                config: VetConfig) -> VetResult:
    """Events at momentum dumps, in data gaps, at data edges or at crowded epochs.

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
    crowded with other stars' events (:data:`transitflow.skye.CROWDED_EPOCH_BIT`) fall
    below ``min_snr`` together (a single transit in a crowded epoch always does).
    Cadences masked for other signals count as observed.
    """
    events = _event_times(signal, detrended.time)
    if len(events) == 0:
        return _skip("systematics", "no transit event with data")
    observed = lc.good().time
    dumps = lc.time[(lc.quality & MOMENTUM_DUMP_BIT) != 0]
    window = (config.dump_cadences + 0.5) * float(np.median(np.diff(lc.time)))
    calm = observed[_distance(observed, dumps) >= window]
    gapped = _coverage(observed, events, signal.duration) < config.min_coverage
    at_dump = ~gapped & (_coverage(calm, events, signal.duration) < config.min_coverage)
    holds_dump = _distance(events, dumps) < 0.5 * signal.duration + window
    if holds_dump.sum() >= MIN_DUMP_EVENTS and holds_dump.mean() > config.max_systematic_fraction:
        at_dump |= holds_dump
    edges = _data_edges(observed, config.gap_days)
    at_edge = _distance(events, edges) < signal.duration
    suspect = at_dump | gapped | at_edge
    fraction = float(suspect.mean())
    reason = (f"{suspect.sum()} of {len(events)} events suspect ({at_dump.sum()} at "
              f"momentum dumps, {gapped.sum()} gapped, {at_edge.sum()} at data edges)")
    crowded = _distance(events, lc.time[(lc.quality & CROWDED_EPOCH_BIT) != 0]
                        ) < 0.5 * signal.duration
    drowned = False
    if crowded.any():
        rest = _uncrowded_snr(detrended, signal, events[crowded])
        drowned = rest < config.min_snr
        reason += (f"; {crowded.sum()} at epochs crowded with other stars' events, the "
                   f"others SNR {rest:.1f}")
    extra = {"events": float(len(events)), "dumps": float(at_dump.sum()),
             "gaps": float(gapped.sum()), "edges": float(at_edge.sum()),
             "crowded": float(crowded.sum())}
    return VetResult("systematics", fraction, NAN,
                     fraction > config.max_systematic_fraction or drowned, reason, extra)


def _uncrowded_snr(detrended: LightCurve, signal: Signal, crowded: np.ndarray) -> float:
    """The SNR of a signal's transits but those at the ``crowded`` mid-times (0 if none)."""
    keep = ~np.isin(_cycle(detrended.time, signal), _cycle(crowded, signal))
    rest = _depth(detrended, signal, _noise(detrended, signal), keep)
    return rest.sigma if math.isfinite(rest.sigma) else 0.0


def _event_times(signal: Signal, time: np.ndarray) -> np.ndarray:
    """Mid-times of the transits with at least one in-transit cadence."""
    cycles = np.unique(_cycle(time[_in_transit(time, signal)], signal))
    return signal.epoch + cycles * (signal.period if signal.periodic else 0.0)


def _distance(times: np.ndarray, marks: np.ndarray) -> np.ndarray:
    """Distance from each time to the nearest mark; infinite without marks."""
    if len(marks) == 0:
        return np.full(len(times), np.inf)
    marks = np.sort(marks)
    right = np.clip(np.searchsorted(marks, times), 0, len(marks) - 1)
    left = np.clip(right - 1, 0, len(marks) - 1)
    return np.minimum(np.abs(times - marks[left]), np.abs(times - marks[right]))


def _coverage(time: np.ndarray, events: np.ndarray, duration: float) -> np.ndarray:
    """Fraction of each event's expected in-transit cadences that have data."""
    cadence = float(np.median(np.diff(time)))
    found = np.searchsorted(time, events + 0.5 * duration) - np.searchsorted(
        time, events - 0.5 * duration)
    return found / max(duration / cadence, 1.0)


def _data_edges(time: np.ndarray, gap_days: float) -> np.ndarray:
    """Times where the data start or stop: both ends and both sides of every long gap."""
    jumps = np.flatnonzero(np.diff(time) > gap_days)
    return np.concatenate([[time[0], time[-1]], time[jumps], time[jumps + 1]])


# --- size and significance ----------------------------------------------------------


@register("consistency", argues="SYSTEMATIC",
          extras=("n_events", "chi2", "max_share"))
def consistency(lc: LightCurve, detrended: LightCurve, signal: Signal,
                config: VetConfig) -> VetResult:
    """Whether the individual transits agree in depth (Robovetter DR25's individual-event
    checks, LEO-vetter's CHI and single-event tests, as one chi-square).

    Per transit with a baseline on both sides, its depth against a local line
    (:func:`_transit_fits`), the error the white noise (:func:`_local_noise`: another
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
        return _skip("consistency", "single transit: no events to compare")
    fits = _transit_fits(detrended.time, _relative(detrended), signal)
    noise = _noise(detrended, signal)
    if len(fits) < 2 or not noise.sigma > 0:
        return _skip("consistency", f"{len(fits)} transit(s) with a baseline either side: "
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
              f"({_ppm(depths.min())} to {_ppm(depths.max())}): chi-square {chi2:.1f} on "
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
    cycle, flux = _cycle(detrended.time, signal)[around], _relative(detrended)[around]
    return np.array([max(sigma, _scatter(flux[cycle == c])) if np.any(cycle == c) else sigma
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
        return _skip("chases", "single transit: no period to set the neighbourhood")
    time, deficit = detrended.time, -_relative(detrended)
    events = _event_times(signal, time)
    if len(events) > config.chases_max_transits:
        return _skip("chases", f"{len(events)} transits: the fold tests their uniqueness")
    reach = 0.1 * signal.period
    if reach <= CHASES_GAP * signal.duration:
        return _skip("chases", f"a tenth of the period is within {CHASES_GAP:g} durations: "
                               "no neighbourhood to compare")
    noise = _noise(detrended, signal)
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
        return _skip("chases", "no transit with a dip")
    median = float(np.median(scores))
    flag = median < config.min_chases
    reason = (f"median chases {median:.2f} over {len(scores)} transits (least "
              f"{config.min_chases:g}): " + ("dips as strong lie nearby" if flag
                                              else "each transit stands out locally"))
    return VetResult("chases", median, NAN, flag, reason, {"transits": float(len(scores))})


def _box_snr(time: np.ndarray, deficit: np.ndarray, centres: np.ndarray, duration: float,
             noise: _Noise) -> np.ndarray:
    """SNR of the mean flux deficit in a box of ``duration`` around each centre (``time``
    sorted), white noise times the red-noise factor; NaN for an empty box."""
    cumulative = np.concatenate([[0.0], np.cumsum(deficit)])
    low = np.searchsorted(time, centres - 0.5 * duration)
    high = np.searchsorted(time, centres + 0.5 * duration)
    count = high - low
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (cumulative[high] - cumulative[low]) / count
        return np.where(count > 0, mean * np.sqrt(count) / (noise.sigma * noise.beta), NAN)


@register("radius", argues="EB", physical=True)
def radius(lc: LightCurve, detrended: LightCurve, signal: Signal,
           config: VetConfig) -> VetResult:
    """Planet radius (from the depth and stellar radius) against ``max_radius``: flagged
    when above it by more than ``radius_sigma`` times its error from the stellar radius
    (``stellar_radius_error``, fractional), so that an inflated hot Jupiter around a star
    with an uncertain radius is not called a binary."""
    if not math.isfinite(signal.radius_earth):
        return _skip("radius", "stellar radius unknown: no planet radius")
    error = signal.radius_earth * config.stellar_radius_error
    excess = (signal.radius_earth - config.max_radius) / error if error > 0 else math.inf
    flag = bool(signal.radius_earth > config.max_radius and excess > config.radius_sigma)
    reason = (f"planet radius {signal.radius_earth:.1f} +- {error:.1f} R_earth "
              f"({'too large for a planet: above' if flag else 'within'} "
              f"{config.max_radius:g})")
    return VetResult("radius", float(signal.radius_earth), float(excess), flag, reason)


@register("snr", argues="LOW_SNR",
          extras=("white", "beta", "transits", "search"))
def snr(lc: LightCurve, detrended: LightCurve, signal: Signal,
        config: VetConfig) -> VetResult:
    """Transit SNR on the detrended light curve, and the number of transits with data.

    SNR is the mean in-transit depth over its white-noise error times the red-noise
    factor. Flagged below ``min_snr`` or with fewer than ``min_transits`` transits; a
    single transit is noted.
    """
    noise = _noise(detrended, signal)
    depth = _depth(detrended, signal, noise, np.ones(len(detrended), dtype=bool))
    n_transits = len(_event_times(signal, detrended.time))
    value = depth.sigma
    if not math.isfinite(value):
        return VetResult("snr", NAN, NAN, True, "no in-transit cadences with data",
                         {"transits": 0.0, "search": float(signal.snr)})
    flag = value < config.min_snr or n_transits < config.min_transits
    reason = f"SNR {value:.1f} over {n_transits} transit{'' if n_transits == 1 else 's'}"
    reason += " (single transit)" if n_transits == 1 else ""
    extra = {"white": value * noise.beta, "beta": noise.beta, "transits": float(n_transits),
             "search": float(signal.snr)}
    return VetResult("snr", value, value, flag, reason, extra)
