"""transitflow: find and vet transiting exoplanets in TESS light curves."""

from transitflow.lightcurve import LightCurve, LightCurveMeta
from transitflow.signals import Signal, VetResult

__all__ = ["LightCurve", "LightCurveMeta", "Signal", "VetResult"]
