"""Hostile files: seeded mutations of the real light curves through the readers.

Every mutated file must be read or refused with one of our reasons, quickly and quietly: no
raw exception, no read over :data:`MAX_READ_SECONDS`, no warning, and no FITS refusal that
falls back to the generic "cannot read as FITS" wrapper around a library's error.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from transitflow.readers import LightCurveReadError, read_lightcurves

N_MUTATIONS = 400
MAX_READ_SECONDS = 5.0
MAX_SOURCE_BYTES = 3_000_000  # keeps the campaign to seconds; the large files add no new layout
#: Header cards that lay out or date a FITS file, and hostile values for them.
CARDS = (b"NAXIS", b"NAXIS1", b"NAXIS2", b"BITPIX", b"TFIELDS", b"TFORM1", b"TFORM2", b"TTYPE1",
         b"TSCAL1", b"BJDREFI", b"BJDREFF", b"TSTART", b"TIMEDEL", b"SECTOR", b"TICID")
CARD_VALUES = (b"1E308", b"-1E308", b"-1", b"0", b"99999999999", b"'abc'", b"T", b"NAN", b"")


def truncate(data: bytearray, rng: np.random.Generator) -> bytes:
    return bytes(data[:rng.integers(len(data))])


def scribble(data: bytearray, rng: np.random.Generator) -> bytes:
    """Random bytes over a random stretch."""
    start, size = rng.integers(len(data)), rng.integers(1, 5000)
    data[start:start + size] = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
    return bytes(data)


def flip_bytes(data: bytearray, rng: np.random.Generator) -> bytes:
    for index in rng.integers(0, len(data), rng.integers(1, 50)):
        data[index] = rng.integers(256)
    return bytes(data)


def splice(data: bytearray, rng: np.random.Generator) -> bytes:
    """A stretch deleted or repeated."""
    start, size = rng.integers(len(data)), rng.integers(1, 3000)
    if rng.random() < 0.5:
        return bytes(data[:start] + data[start:start + size] + data[start:])
    return bytes(data[:start] + data[start + size:])


def set_card(data: bytearray, rng: np.random.Generator) -> bytes:
    """A layout or time card (of the primary or the table header) set to a hostile value."""
    key = CARDS[rng.integers(len(CARDS))].ljust(8) + b"="
    start = data.find(key, 0 if rng.random() < 0.5 else 2880)
    if start >= 0:
        value = CARD_VALUES[rng.integers(len(CARD_VALUES))]
        data[start + 10:start + 80] = value.rjust(20).ljust(70)
    return bytes(data)


def edit_lines(data: bytearray, rng: np.random.Generator) -> bytes:
    """Text lines blanked, shortened by a field, lengthened by one or repeated; in a FITS
    header this moves or removes END cards."""
    lines = bytes(data).split(b"\n") if b"\n" in data else [bytes(data[i:i + 80])
                                                          for i in range(0, len(data), 80)]
    for _ in range(rng.integers(1, 5)):
        index = rng.integers(min(len(lines), 400))
        choice = rng.integers(4)
        if choice == 0:
            lines[index] = b" " * len(lines[index]) if b"\n" not in data else b""
        elif choice == 1:
            lines[index] = b"END".ljust(80) if b"\n" not in data else lines[index].replace(
                b",", b"", 1)
        elif choice == 2:
            lines[index] = lines[index] + b",1e308"
        else:
            lines.insert(index, lines[rng.integers(len(lines))])
    return (b"\n" if b"\n" in data else b"").join(lines)


MUTATIONS = (truncate, scribble, flip_bytes, splice, set_card, edit_lines)


def sources(realdata: Path) -> list[Path]:
    files = sorted(realdata.glob("lightcurves/**/*"))
    return [path for path in files if path.suffix in (".fits", ".csv")
            and path.stat().st_size < MAX_SOURCE_BYTES]


@pytest.mark.realdata
def test_mutated_real_files_are_read_or_refused_with_our_reason(realdata, tmp_path):
    rng = np.random.default_rng(2026)
    files = sources(realdata)
    assert len(files) > 20
    refused, slow, noisy = [], [], []
    for number in range(N_MUTATIONS):
        source = files[rng.integers(len(files))]
        mutation = MUTATIONS[rng.integers(len(MUTATIONS))]
        path = tmp_path / f"{number}-{mutation.__name__}-{source.name}"
        path.write_bytes(mutation(bytearray(source.read_bytes()), rng))
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                read_lightcurves(path)
            except LightCurveReadError as error:
                refused.append(str(error))
        if time.perf_counter() - start > MAX_READ_SECONDS:
            slow.append(path.name)
        noisy += [f"{path.name}: {warning.message}" for warning in caught]
        path.unlink()
    assert not slow
    assert not noisy
    generic = [reason for reason in refused if "cannot read as FITS" in reason]
    assert not generic
    assert all("\n" not in reason for reason in refused)
    assert 0.3 * N_MUTATIONS < len(refused) < N_MUTATIONS  # the campaign bites, not always
