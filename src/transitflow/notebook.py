"""The notebook face: one light curve searched and vetted without the workflow.

    import lightkurve as lk
    import transitflow

    lc = lk.read("tess2018206045859-s0001-0000000150065151-0120-s_lc.fits")
    signals = transitflow.search(lc)        # one row per signal, strongest first
    vetting = transitflow.vet(lc, signals)  # one row per signal: disposition, every test

Light curves may be lightkurve's (any mission; converted by
:func:`~transitflow.interop.from_lightkurve`) or transitflow's own; options are the
config sections' (a dict, or :class:`~transitflow.searching.SearchConfig` and
:class:`~transitflow.vetting.VetConfig`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from transitflow.interop import from_lightkurve
from transitflow.lightcurve import LightCurve
from transitflow.searching import SearchConfig, detrend_for_search, search_lightcurve
from transitflow.signals import Signal
from transitflow.vetting import VetConfig, vet_light_curve

#: What :func:`vet` accepts as the signals to vet.
Signals = Signal | Mapping | pd.Series | pd.DataFrame | list


def search(lc, config: SearchConfig | Mapping | None = None) -> pd.DataFrame:
    """The transit signals of one light curve (:func:`~transitflow.searching.search_lightcurve`):
    a row per signal with its ``key``, ephemeris, depth, SNR, transit times and radius."""
    config = _options(SearchConfig, config)
    found = search_lightcurve(as_light_curve(lc), config)
    return pd.DataFrame([{"key": signal.key, **signal.to_row()} for signal in found],
                        columns=["key", *Signal.__dataclass_fields__])


def vet(lc, signals: Signals, config: VetConfig | Mapping | None = None,
        search: SearchConfig | Mapping | None = None) -> pd.DataFrame:
    """The vetting of signals of one light curve: a row per signal with its
    ``disposition``, ``reasons`` and every test's columns (``docs/formats.md``).

    ``signals`` is one Signal or row, or the table :func:`search` returned; each signal is
    vetted with the others masked, on the light curve detrended as ``search`` detrends it.
    """
    config, search = _options(VetConfig, config), _options(SearchConfig, search)
    lc, found = as_light_curve(lc), _signal_list(signals)
    rows = vet_light_curve(lc, found, config, detrend_for_search(lc, search))
    return pd.DataFrame([{"key": signal.key, **row} for signal, row in zip(found, rows)])


def as_light_curve(lc) -> LightCurve:
    """A transitflow LightCurve as it is; a lightkurve one converted."""
    return lc if isinstance(lc, LightCurve) else from_lightkurve(lc)


def _options(kind: type, options):
    if options is None:
        return kind()
    return options if isinstance(options, kind) else kind.from_dict(options)


def _signal_list(signals: Signals) -> list[Signal]:
    if isinstance(signals, Signal):
        return [signals]
    if isinstance(signals, pd.DataFrame):
        return [Signal.from_row(row) for row in signals.to_dict("records")]
    if isinstance(signals, (Mapping, pd.Series)):
        return [Signal.from_row(dict(signals))]
    return [signal if isinstance(signal, Signal) else Signal.from_row(dict(signal))
            for signal in signals]
