"""The options of the report, and the order dispositions are listed in."""

from __future__ import annotations

from dataclasses import dataclass

from transitflow.options import options_from_dict, reject_invalid
from transitflow.signals import DISPOSITIONS




@dataclass(frozen=True)
class ReportConfig:
    """Options of the report (``sheets_for`` acts in the vetting jobs)."""

    sheets_for: tuple[str, ...] = DISPOSITIONS
    pc_max_radius_rjup: float | None = None  # PCs larger than this become EB; None: off

    def __post_init__(self) -> None:
        reject_invalid("report", [
            (not set(self.sheets_for) <= set(DISPOSITIONS),
             f"sheets_for: dispositions are {', '.join(DISPOSITIONS)}"),
            (self.pc_max_radius_rjup is not None and self.pc_max_radius_rjup <= 0,
             "pc_max_radius_rjup must be positive or null")])

    @classmethod
    def from_dict(cls, options) -> ReportConfig:
        """The options from a config section; an unknown key is an error naming it."""
        return options_from_dict(cls, options, "report")
