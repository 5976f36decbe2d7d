"""Seeded TESS-like single-sector light curves with a truth table.

Every simulated star belongs to one class: ``planet`` (limb-darkened transits, some
multi-planet systems and single transits), ``eb`` (primary and secondary eclipses, some
eccentric, some near-twins), ``beb`` (a background EB diluted to planet-like depth, with
centroid motion in eclipse), ``false_dip`` (scattered-light events that dip the flux and
raise the background), ``variable`` (spotted rotators and pulsators) or ``quiet``.

On top of the astrophysics every light curve gets Tmag-dependent white noise, slow trends,
scattered-light ramps near the orbit ends, the mid-sector downlink gap and momentum dumps
(quality bit 32, with a pointing jump). Signals on the target are diluted by the
contaminating flux ``meta.contamination`` (the flux is not corrected for crowding, as SAP
flux: ``meta.flux_column`` is :data:`SIMULATED_FLUX`); the truth ``depth`` is the flux deficit
a cadence centred on the event records, ``rp_rearth`` the true planet radius.

Star ``i`` depends only on ``(seed, i)`` and the sector, never on the batch it is simulated
in: its astrophysics comes from ``SeedSequence([seed, 0, i])`` (the same star, planets and
ephemerides in every sector), its noise, systematics, single events and false dips from
``SeedSequence([seed, 1, sector, i])``. Spacecraft-wide effects (momentum dumps, pointing)
come from ``SeedSequence([seed, 2, sector])``. Classes follow a seeded golden-ratio sequence,
so any run of consecutive stars honours the class fractions closely.

Modules: ``config`` (:class:`SimConfig`, the classes and labels), ``sector``
(:func:`simulate_stars`, the observation and the truth tables), ``star`` (one star and its
seeded generators), ``planets``, ``binaries``, ``variability`` (what each class plants), and
``physics`` (transit geometry and models, limb darkening and noise, shared with the
injections and the tests).
"""

from transitflow.simulate.config import LABELS, SIM_CLASSES, SIM_TIC_OFFSET, SIMULATED_FLUX, SimConfig
from transitflow.simulate.physics import (blend_centroid_shift, grazing_impact, inclination_deg,
                                          log_uniform, semi_major_axis_rsun, transit_duration,
                                          transit_model)
from transitflow.simulate.sector import (SIGNAL_COLUMNS, STAR_COLUMNS, SimulatedBatch,
                                         simulate_stars)

__all__ = ["LABELS", "SIGNAL_COLUMNS", "SIMULATED_FLUX", "SIM_CLASSES", "SIM_TIC_OFFSET",
           "STAR_COLUMNS", "SimConfig", "SimulatedBatch", "blend_centroid_shift", "grazing_impact",
           "inclination_deg", "log_uniform", "semi_major_axis_rsun", "simulate_stars",
           "transit_duration", "transit_model"]
