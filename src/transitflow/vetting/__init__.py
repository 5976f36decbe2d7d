"""DAVE-style vetting of transit signals (Kostov et al. 2019; Kepler Robovetter; SPOC DV).

Every test has one interface, ``test(lc, detrended, signal, config) -> VetResult``, and is
registered by name in :data:`REGISTRY`; :data:`SPECS` holds the disposition its failure
argues for and the names of its extra numbers. ``lc`` is the raw light curve (quality
flags, centroids, background), ``detrended`` its :func:`transitflow.detrend.detrend`
output, both without the transits of the light curve's other signals (see
:func:`vet_signal`). A test that cannot run says why, with a NaN metric and no flag.

Modules: ``config`` (:class:`VetConfig`, the thresholds and where each comes from),
``registry``, ``vetter`` (:func:`vet_signal`, :func:`vet_light_curve`, the disposition and
the table row), ``measure`` (noise, depths and contrasts the tests share), ``modshift``,
one module per family of tests (``parity``, ``eclipse``, ``pixels``, ``trapezoid``,
``sinusoid``, ``events``, ``planet``), and ``skye`` (epochs crowded with many stars'
events, marked before vetting).

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

from transitflow.vetting.config import VetConfig
from transitflow.vetting.registry import DISPOSITION_PRECEDENCE, REGISTRY, SPECS, VetSpec, register
# the test modules register their tests on import, in the order the tests run
from transitflow.vetting.parity import odd_even
from transitflow.vetting.eclipse import secondary, uniqueness
from transitflow.vetting.pixels import background, centroid
from transitflow.vetting.trapezoid import shape
from transitflow.vetting.sinusoid import harmonics
from transitflow.vetting.events import chases, consistency, systematics
from transitflow.vetting.planet import radius, snr
from transitflow.vetting.vetter import (disposition, independent, vet_light_curve, vet_signal,
                                        vetting_row)

__all__ = ["DISPOSITION_PRECEDENCE", "REGISTRY", "SPECS", "VetConfig", "VetSpec", "background", "centroid",
           "chases", "consistency", "disposition", "harmonics", "independent", "odd_even",
           "radius", "register", "secondary", "shape", "snr", "systematics", "uniqueness",
           "vet_light_curve", "vet_signal", "vetting_row"]
