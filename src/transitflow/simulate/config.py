"""The simulator's options and vocabulary: classes, labels, sector timing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from transitflow.options import options_from_dict


SIM_TIC_OFFSET = 9_000_000_000
#: The simulator's flux column: diluted by other stars' light, as SAP flux.
SIMULATED_FLUX = "SIMULATED"
SIM_CLASSES = ("planet", "eb", "beb", "false_dip", "variable", "quiet")
LABELS = {"planet": "planet", "eb": "eb", "beb": "eb", "false_dip": "non_transit",
          "variable": "non_transit", "quiet": "non_transit"}
DEFAULT_CLASS_FRACTIONS = {"planet": 0.30, "eb": 0.12, "beb": 0.06, "false_dip": 0.05,
                           "variable": 0.12}
SECTOR1_START = 1325.3  # BTJD
SECTOR_DAYS = 27.4
DOWNLINK_GAP_DAYS = 1.0
MOMENTUM_DUMP_INTERVAL_DAYS = (2.5, 3.1)


@dataclass(frozen=True)
class SimConfig:
    """What to simulate.

    ``class_fractions`` gives the fraction of stars per class; classes left out get none,
    except ``quiet``, which takes the rest unless given. Ranges are ``(low, high)``.
    ``detectable_fraction`` of planet hosts get their first planet sized for an expected
    SNR of at least ``min_snr``; the others draw radii freely and may be undetectable.
    """

    n_stars: int = 2000
    sector: int = 1
    cadence_min: float = 30.0
    seed: int = 42
    class_fractions: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_CLASS_FRACTIONS))
    tmag_range: tuple[float, float] = (8.0, 14.0)
    teff_range: tuple[float, float] = (3300.0, 6800.0)
    planet_radius_range: tuple[float, float] = (1.0, 20.0)  # R_earth
    planet_period_range: tuple[float, float] = (0.5, 20.0)  # days
    multi_planet_fraction: float = 0.20
    single_transit_fraction: float = 0.10
    detectable_fraction: float = 0.85
    min_snr: float = 10.0
    eb_period_range: tuple[float, float] = (0.5, 15.0)
    beb_depth_range: tuple[float, float] = (0.001, 0.01)
    active_fraction: float = 0.3  # non-variable stars with low-level spot modulation
    star_mass_range: tuple[float, float] | None = None  # M_sun, log-uniform; None: from Teff
    grazing_fraction: float = 0.0  # planets with impact 0.9 to 1 + 0.8 Rp/R* (V-shaped)
    noise_scale: float = 1.0  # white noise relative to tess_noise_per_hour
    systematics_scale: float = 1.0  # trends and scattered light relative to the default

    def __post_init__(self) -> None:
        if self.n_stars < 0 or self.sector < 1 or self.cadence_min <= 0 or self.seed < 0:
            raise ValueError(f"simulation needs n_stars >= 0, sector >= 1, cadence_min > 0 and "
                             f"seed >= 0, got {self.n_stars}, {self.sector}, "
                             f"{self.cadence_min}, {self.seed}")
        for f in fields(self):
            value = getattr(self, f.name)
            if (f.name.endswith("_range") and value is not None
                    and not (len(value) == 2 and 0 < value[0] < value[1])):
                raise ValueError(f"simulation setting {f.name} must be (low, high) with "
                                 f"0 < low < high, got {value}")
            if f.name.endswith("_fraction") and not 0 <= value <= 1:
                raise ValueError(f"simulation setting {f.name} must be in [0, 1], got {value}")
        if self.noise_scale <= 0 or self.systematics_scale < 0:
            raise ValueError("simulation needs noise_scale > 0 and systematics_scale >= 0")
        if self.multi_planet_fraction + self.single_transit_fraction > 1:
            raise ValueError("multi_planet_fraction + single_transit_fraction exceeds 1")
        self.fractions  # raises on unknown classes or fractions not summing to 1

    @classmethod
    def from_dict(cls, values: Mapping) -> SimConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, values, "sim")

    @property
    def fractions(self) -> dict[str, float]:
        """The fraction of stars in every class of :data:`SIM_CLASSES`."""
        unknown = sorted(set(self.class_fractions) - set(SIM_CLASSES))
        if unknown:
            raise ValueError(f"unknown simulated class {unknown[0]!r} in class_fractions; "
                             f"known: {', '.join(SIM_CLASSES)}")
        values = {name: float(self.class_fractions.get(name, 0.0)) for name in SIM_CLASSES}
        if "quiet" not in self.class_fractions:
            values["quiet"] = 1.0 - sum(values.values())
        if min(values.values()) < -1e-9 or abs(sum(values.values()) - 1.0) > 1e-6:
            raise ValueError(f"class fractions must be >= 0 and sum to 1, got {values}")
        return values
