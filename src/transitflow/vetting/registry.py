"""The registry of vetting tests: each test's name, the disposition its failure argues
for and the extra numbers it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from transitflow.lightcurve import LightCurve
from transitflow.signals import Signal, VetResult
from transitflow.vetting.config import VetConfig

#: A vetting test: ``test(lc, detrended, signal, config) -> VetResult``.
VetTest = Callable[[LightCurve, LightCurve, Signal, VetConfig], VetResult]

#: Disposition precedence: the first one a failed test argues for wins; PC when none. A
#: binary's own signature (a failed ``physical`` test: secondary, odd/even, radius) makes
#: it EB even when the noise tests say LOW_SNR or SYSTEMATIC.
DISPOSITION_PRECEDENCE = ("LOW_SNR", "SYSTEMATIC", "BEB", "EB")


@dataclass(frozen=True)
class VetSpec:
    """What a failure of a registered test argues for, whether it is a binary's own
    signature (``physical``: a measurement of the system, not of the noise), and the extra
    numbers it reports."""

    argues: str
    extras: tuple[str, ...] = ()
    physical: bool = False


#: Every vetting test by name, in the order they run.
REGISTRY: dict[str, VetTest] = {}

#: Each registered test's disposition and extra numbers (the table's extra columns).
SPECS: dict[str, VetSpec] = {}


def register(name: str, argues: str, extras: tuple[str, ...] = (),
             physical: bool = False) -> Callable[[VetTest], VetTest]:
    """Decorator adding a test to :data:`REGISTRY` as ``name``.

    ``argues`` is the disposition its failure argues for, ``extras`` the names of the
    extra numbers its results carry; a ``physical`` test's failure (which must argue EB)
    outranks LOW_SNR and SYSTEMATIC (see :func:`transitflow.vetting.vetter.disposition`).
    """
    if argues not in DISPOSITION_PRECEDENCE or (physical and argues != "EB"):
        raise ValueError(f"vetting test {name!r}: unknown disposition {argues!r}")

    def add(test: VetTest) -> VetTest:
        REGISTRY[name] = test
        SPECS[name] = VetSpec(argues, extras, physical)
        return test

    return add
