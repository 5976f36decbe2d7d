"""The notebook face: transitflow.search and transitflow.vet on one light curve."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import transitflow
from transitflow.readers import read_lightcurves
from transitflow.searching import SearchConfig

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lightkurve

WASP18 = "lightcurves/exovetter/wasp18b.fits"  # WASP-18 b, P = 0.941453 d, S2


def test_a_lightkurve_light_curve_is_searched_and_vetted_in_two_calls(realdata):
    lc = lightkurve.read(realdata / WASP18)
    signals = transitflow.search(lc, {"max_signals": 1})
    assert list(signals["key"]) == ["100100827-s0002-0"]
    assert signals.loc[0, "period"] == pytest.approx(0.941453, rel=1e-4)
    vetting = transitflow.vet(lc, signals)
    assert vetting.loc[0, "key"] == signals.loc[0, "key"]
    assert vetting.loc[0, "disposition"] == "PC" and vetting.loc[0, "reasons"] == ""
    assert {"odd_even_sigma", "secondary_flag", "snr_metric"} <= set(vetting.columns)


def test_one_signal_a_row_or_a_table_vet_alike(realdata):
    lc = read_lightcurves(realdata / WASP18)[0]
    signals = transitflow.search(lc, SearchConfig(max_signals=1))
    table = transitflow.vet(lc, signals)
    row = transitflow.vet(lc, signals.iloc[0])
    one = transitflow.vet(lc, transitflow.Signal.from_row(signals.iloc[0].to_dict()))
    for other in (row, one):
        assert other.equals(table)


def test_options_are_checked_like_the_config():
    with pytest.raises(ValueError, match="max_signal"):
        transitflow.search(None, {"max_signal": 1})


def test_importing_transitflow_loads_no_search_or_vetting_code():
    """The report's environment (no scipy, astropy BLS or wotan) imports transitflow."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, transitflow; "
         "print(sorted(m for m in sys.modules if m.startswith('transitflow.')))"],
        capture_output=True, text=True, check=True).stdout
    assert "transitflow.searching" not in loaded and "transitflow.vetting" not in loaded
    assert transitflow.__version__ and callable(transitflow.vet)
    with pytest.raises(AttributeError, match="no attribute 'serch'"):
        transitflow.serch  # noqa: B018
