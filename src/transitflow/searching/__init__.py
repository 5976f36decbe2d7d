"""Transit search: BLS (or TLS) periodic search, iterated for multi-planet systems, and a
single-event box search when no periodic signal rests on two or more events.

Modules: ``config`` (:class:`SearchConfig`), ``iterative`` (:func:`search_lightcurve`, the
search of one light curve), ``star`` (stellar density, trial durations and periods,
detrending, the light curve that nulls mirror), ``periodograms`` (BLS, TLS and the SDE
spectrum), ``box_least_squares`` (astropy's BLS, compiled), ``transits`` (a signal measured
transit by transit), ``masking`` (what is masked before the next round, echoes), ``single``
(the single-event search).

Times are BTJD days; config durations are hours; depths are fractions of the flux.
"""

from transitflow.searching.config import SearchConfig
from transitflow.searching.iterative import search_lightcurve, search_with_spectrum
from transitflow.searching.masking import full_duration, is_echo, mask_width
from transitflow.searching.periodograms import (Periodogram, Spectrum, bls_spectrum,
                                                display_spectrum, periodogram)
from transitflow.searching.star import (detrend_for_search, detrend_window, flatten_for_search,
                                        period_grid, search_durations, shortest_period,
                                        stellar_density, without_brightenings)
from transitflow.searching.transits import alias_periods, true_multiple

__all__ = ["Periodogram", "SearchConfig", "Spectrum", "alias_periods", "bls_spectrum",
           "detrend_for_search", "detrend_window", "display_spectrum", "flatten_for_search",
           "full_duration", "is_echo", "mask_width", "period_grid", "periodogram",
           "search_durations", "search_lightcurve", "search_with_spectrum", "shortest_period",
           "stellar_density", "true_multiple", "without_brightenings"]
