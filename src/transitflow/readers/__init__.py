"""Light-curve files -> :class:`~transitflow.lightcurve.LightCurve`: SPOC, TESS-SPOC/QLP FFI HLSP, lightkurve, K2, CSV.

FITS light curves are read lean, because the pipeline reads thousands of them: astropy
parses the two headers, the table rows are read in one go and numpy views only the needed
columns (about 5 ms per SPOC 2-min file, half the time of ``fits.open(...)[1].data``, which
parses every column definition; most of the rest is astropy parsing header cards).

Modules: ``dispatch`` (:func:`read_lightcurves`, :func:`detect_format`), ``missions`` (FITS
light curves of each mission and pipeline, pixel files), ``fitsfile`` (the lean FITS
reading), ``text`` (text tables), ``errors`` (:class:`LightCurveReadError` and the checks).
"""

from transitflow.readers.dispatch import detect_format, read_lightcurves
from transitflow.readers.errors import LightCurveReadError, PartlyRead
from transitflow.readers.missions import FORMATS

__all__ = ["FORMATS", "LightCurveReadError", "PartlyRead", "detect_format", "read_lightcurves"]
