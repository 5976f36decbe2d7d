"""The thresholds of the vetting tests, with where each comes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from transitflow.options import options_from_dict


@dataclass(frozen=True)
class VetConfig:
    """Thresholds of the vetting tests.

    Defaults are the published DAVE / Robovetter values where those pipelines have the
    threshold; the comment on each says where it comes from, or that it is ours.
    """

    # Detrending window, days, when vet_signal detrends: the larger of this and 3x the
    # duration (detrend.py; searching.star.DETREND_WINDOW_FACTOR).
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
    # Systematic error of the odd/even difference, a fraction of the mean depth, added in
    # quadrature to its statistical error (ours: the shared profile leaves up to ~1.6% of
    # the depth between a giant's odd and even transits sampled at different cadence
    # phases, which white noise alone calls significant from SNR ~900; 0.38% passes every
    # one of 2,152 injected giants, docs/benchmarks.md). Differences under FA1 times this
    # (2.2-2.7% of the depth, by duty cycle) never flag.
    odd_even_systematic: float = 0.005
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
    # A three-hour bin of a sector is crowded when more stars hold an event of a signal of
    # at most three events there than a binomial draw at the sector's typical rate gives
    # at this chance per bin, and more than twice the typical count (Robovetter DR25 Skye:
    # half-day bins, 1e-4 to 5e-4 per bin and CCD; ours 1e-3 per bin and sector on two
    # grids; 0: off).
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
