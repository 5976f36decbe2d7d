"""transitflow: find and vet transiting exoplanets in TESS light curves.

In a notebook, ``transitflow.search(lc)`` and ``transitflow.vet(lc, signals)`` search and
vet one light curve (lightkurve's or transitflow's; :mod:`transitflow.notebook`).
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from transitflow.lightcurve import LightCurve, LightCurveMeta
from transitflow.signals import Signal, VetResult

try:
    __version__ = version("transitflow")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["LightCurve", "LightCurveMeta", "Signal", "VetResult", "__version__"]


def __getattr__(name: str):
    """``search`` and ``vet`` load the search and vetting code on first use only, so that
    stages without their dependencies (the report's environment) can import transitflow."""
    if name in ("search", "vet"):
        return getattr(import_module("transitflow.notebook"), name)
    raise AttributeError(f"module 'transitflow' has no attribute {name!r}")
