"""Stage options: config sections turned into frozen dataclasses, strictly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields

#: Settings of speed and fetching, per config section, that never change what a stage
#: writes (MAST answers the same files however patiently it is asked; training's batches
#: are numbered, whichever worker makes them). The workflow passes them apart from the
#: options (``--throughput``), so that changing them reruns nothing. Batch sizes are not
#: among them: scores computed in batches of another size differ in the last bits.
THROUGHPUT_KEYS = {"mast": ("max_workers", "retries", "backoff_s", "timeout_s"),
                   "train": ("num_workers", "member_processes")}


def options_from_dict(cls, options: Mapping, section: str):
    """Build dataclass ``cls`` from a config section; an unknown key is a one-line error.

    YAML lists become tuples so the dataclass stays hashable.
    """
    known = sorted(f.name for f in fields(cls))
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"{section}: unknown option {unknown[0]!r}; known: {', '.join(known)}")
    return cls(**{key: tuple(value) if isinstance(value, list) else value
                  for key, value in options.items()})


def reject_invalid(section: str, problems: list[tuple[bool, str]]) -> None:
    """Raise a one-line error for the first ``(is_bad, message)`` pair that is bad."""
    for bad, message in problems:
        if bad:
            raise ValueError(f"{section}: {message}")
