"""The options of the transit search (the ``search`` section of the workflow config)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from transitflow.options import options_from_dict, reject_invalid


@dataclass(frozen=True)
class SearchConfig:
    """Options of the transit search (the ``search`` section of the workflow config).

    method : "bls" (box least squares: astropy's algorithm, compiled, equal results) or
        "tls" (transitleastsquares 2.0.4).
    min_period, max_period : period range, days; ``max_period=None`` is half the data span.
        A star of known density is searched from its closest orbit (:func:`~transitflow.searching.star.shortest_period`)
        when that is longer than ``min_period``.
    durations : trial durations, hours, for a star of solar density; scaled by
        ``rho^(-1/3)`` when the stellar density is known (radius and mass or logg).
    oversampling : period grid oversampling (Ofir 2014 grid; 3 as TLS).
    max_signals : most search iterations (signals found, including skipped ones).
    sde_threshold, snr_threshold : a periodic signal needs both.
    single_snr_threshold : matched-filter SNR a single event needs.
    detrend_window : wotan biweight window, days; None is 3x the longest duration.
    mask_factor : found transits are masked over this many durations before searching on
        (or :data:`~transitflow.searching.masking.T14_MASK_FACTOR` full durations, when wider).
    search_bin_minutes : finer cadences are binned to this (at most a third of the
        shortest duration tried at a period) for the period search, then refined on
        full cadence.
    tls_backend : TLS search backend, pinned so results name what produced them.
    """

    method: str = "bls"
    min_period: float = 0.2
    max_period: float | None = None
    durations: tuple[float, ...] = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.5, 6.5, 9.0, 13.0)
    oversampling: float = 3.0
    max_signals: int = 3
    sde_threshold: float = 9.0
    snr_threshold: float = 7.0
    single_snr_threshold: float = 8.0
    detrend_window: float | None = None
    mask_factor: float = 2.0
    search_bin_minutes: float = 10.0
    tls_backend: str = "fused-pl"

    def __post_init__(self) -> None:
        object.__setattr__(self, "durations", tuple(float(d) for d in self.durations))
        problems = [
            (self.method not in ("bls", "tls"), f"method must be bls or tls, not {self.method!r}"),
            (self.min_period <= 0, "min_period must be positive"),
            (self.max_period is not None and self.max_period <= self.min_period,
             "max_period must exceed min_period"),
            (not self.durations or min(self.durations) <= 0, "durations must be positive hours"),
            (self.max_signals < 1, "max_signals must be at least 1"),
            (self.oversampling <= 0, "oversampling must be positive"),
        ]
        reject_invalid("search config", problems)

    @classmethod
    def from_dict(cls, options: Mapping) -> SearchConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "search")
