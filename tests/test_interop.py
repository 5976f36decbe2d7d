"""lightkurve light curves to and from LightCurve."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from transitflow.interop import from_lightkurve
from transitflow.lightcurve import LightCurve
from transitflow.readers import read_lightcurves

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lightkurve

SPOC = "lightcurves/qusi/tess2018206045859-s0001-0000000117544915-0120-s_lc.fits"
K2 = "lightcurves/dave/ktwo206103150-c03_llc.fits"


@pytest.mark.parametrize("name, key, star", [(SPOC, "117544915-s0001", "TIC 117544915"),
                                             (K2, "206103150-s0003", "EPIC 206103150")])
def test_a_lightkurve_light_curve_reads_as_the_file_does(realdata, name, key, star):
    ours = read_lightcurves(realdata / name)[0]
    theirs = from_lightkurve(lightkurve.read(realdata / name, quality_bitmask="none"))
    finite = np.isfinite(theirs.time)
    assert (theirs.meta.key, theirs.meta.star_id) == (key, star)
    np.testing.assert_allclose(theirs.time[finite], ours.time, atol=1e-8)
    np.testing.assert_array_equal(theirs.flux[finite], ours.flux)
    np.testing.assert_array_equal(theirs.quality[finite], ours.quality)
    assert theirs.meta.tmag == pytest.approx(ours.meta.tmag, nan_ok=True)


def test_a_light_curve_survives_the_round_trip(realdata):
    ours = read_lightcurves(realdata / SPOC)[0]
    back = LightCurve.from_lightkurve(ours.to_lightkurve())
    assert back.meta.key == ours.meta.key and back.meta.flux_column == "PDCSAP_FLUX"
    np.testing.assert_allclose(back.time, ours.time, atol=1e-9)
    for name in ("flux", "flux_err", "centroid_col", "background", "quality"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ours, name))


def test_without_an_id_it_asks_for_one():
    lk = lightkurve.LightCurve(time=np.arange(3.0) + 1400, flux=np.ones(3))
    with pytest.raises(ValueError, match="no target ID .* pass tic="):
        from_lightkurve(lk)
    assert from_lightkurve(lk, tic=5, sector=2).meta.key == "5-s0002"
