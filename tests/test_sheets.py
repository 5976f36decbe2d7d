"""Vetting sheets: one PNG page per signal, for periodic and single transits."""

from __future__ import annotations

import struct
from dataclasses import replace
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from tests.builders import flat_lightcurve
from transitflow.lightcurve import LightCurve
from transitflow import sheets
from transitflow.sheets import DPI, PAGE_INCHES, vetting_sheet
from transitflow.searching import SearchConfig
from transitflow.signals import DISPOSITIONS, Signal
from transitflow.vetting import VetConfig
from transitflow.vetting.measure import OTHER_SIGNAL_BIT
from transitflow.vetting.stage import vet_and_draw

PERIOD, EPOCH, DURATION, DEPTH = 3.1, 1326.3, 0.12, 0.004
TESTS = ("odd_even", "secondary", "centroid", "background", "shape", "harmonics", "systematics",
         "size")


def transiting(period: float = PERIOD, **kwargs) -> LightCurve:
    """A flat light curve with box transits (one at EPOCH when ``period`` is NaN)."""
    lc = flat_lightcurve(tic=42, sector=3, **kwargs)
    offset = lc.time - EPOCH if np.isnan(period) else (
        np.mod(lc.time - EPOCH + period / 2, period) - period / 2)
    return replace(lc, flux=(lc.flux - DEPTH * (np.abs(offset) < DURATION / 2)).astype(np.float32))


def periodic_signal() -> Signal:
    times = tuple(EPOCH + PERIOD * np.arange(8))
    return Signal(42, 3, 0, "periodic", "bls", PERIOD, EPOCH, DURATION, DEPTH, 2e-4, 25.0, 18.0,
                  len(times), times, (DEPTH,) * len(times), 2.3)


def single_signal() -> Signal:
    return replace(periodic_signal(), kind="single", method="single_event", period=np.nan,
                   sde=np.nan, n_transits=1, transit_times=(EPOCH,), transit_depths=(DEPTH,))


def vetting_row(signal: Signal) -> dict:
    row = {**signal.to_row(), "disposition": "PC", "reasons": "<b>odd & even</b>"}
    for test in TESTS:
        row |= {f"{test}_metric": 0.1, f"{test}_sigma": 1.5, f"{test}_flag": test == "size",
                f"{test}_reason": "ok"}
    return row | {"secondary_phase": 0.52, "secondary_depth": 1e-4}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_periodic_sheet_is_one_deterministic_page(tmp_path):
    """The page's figure is reused from sheet to sheet: a sheet drawn after another of a
    different kind (a single transit: notes, no periodogram, one transit panel) is the same
    bytes as the sheet drawn before it."""
    lc = transiting()
    periodogram = SimpleNamespace(periods=np.geomspace(0.5, 13.0, 500),
                                  power=np.random.default_rng(0).random(500))
    single = transiting(period=np.nan)
    sheets._process_page.cache_clear()  # the first sheet on a fresh page

    def periodic_sheet(name: str) -> bytes:
        return vetting_sheet(replace(lc, flux=lc.flux * 1500), lc, periodic_signal(),
                             vetting_row(periodic_signal()), tmp_path / name,
                             periodogram).read_bytes()

    first = periodic_sheet("a.png")
    vetting_sheet(single, single, single_signal(), {**single_signal().to_row(),
                                                     "disposition": "PC"}, tmp_path / "s.png")
    second = periodic_sheet("sub/b.png")
    assert first == second
    assert png_size(first) == (int(PAGE_INCHES[0] * DPI), int(PAGE_INCHES[1] * DPI))
    assert 30_000 < len(first) < 2_000_000


def test_the_sheet_is_the_page_as_matplotlib_saves_it_without_alpha(tmp_path):
    """The page writes its own PNG (RGB: the page is opaque) of the pixels matplotlib's
    ``savefig`` makes of it."""
    lc = transiting()
    written = vetting_sheet(lc, lc, periodic_signal(), vetting_row(periodic_signal()),
                            tmp_path / "sheet.png")
    with matplotlib.rc_context(sheets.STYLE):
        sheets._process_page().fig.savefig(tmp_path / "saved.png", dpi=DPI)
    sheet, saved = Image.open(written), Image.open(tmp_path / "saved.png")
    assert (sheet.mode, saved.mode) == ("RGB", "RGBA")
    assert np.array_equal(np.asarray(sheet), np.asarray(saved.convert("RGB")))
    assert sheet.info["dpi"] == pytest.approx((DPI, DPI), abs=0.01)


def test_the_sheet_names_the_star_in_its_mission_catalogue(tmp_path, monkeypatch):
    texts, draw_text = [], Figure.text
    monkeypatch.setattr(Figure, "text", lambda fig, x, y, text, *args, **kwargs: (
        texts.append(text), draw_text(fig, x, y, text, *args, **kwargs))[1])
    lc = transiting()
    k2 = replace(lc, meta=replace(lc.meta, mission="K2"))
    vetting_sheet(k2, k2, periodic_signal(), vetting_row(periodic_signal()), tmp_path / "k2.png")
    assert texts[0].startswith("EPIC 42   campaign 3   signal 0")
    assert "T0 = 1326.30000 BTJD = 3493.30000 BKJD" in texts[1]


def test_single_transit_with_nan_centroids(tmp_path):
    lc = transiting(period=np.nan)
    nan = np.full(len(lc), np.nan, np.float32)
    lc = replace(lc, centroid_col=nan, centroid_row=nan, background=nan)
    row = {**single_signal().to_row(), "disposition": "LOW_SNR", "reasons": ""}
    path = vetting_sheet(lc, lc, single_signal(), row, tmp_path / "single.png")
    assert png_size(path.read_bytes())[0] == int(PAGE_INCHES[0] * DPI)


@pytest.mark.parametrize("n_points", [0, 5])
def test_few_points(tmp_path, n_points):
    lc = transiting()
    lc = lc.select(np.abs(lc.time - EPOCH) < 0.01 * n_points)
    row = vetting_row(periodic_signal()) | {"secondary_phase": None}
    path = vetting_sheet(lc, lc, replace(periodic_signal(), transit_times=()), row,
                         tmp_path / "few.png", SimpleNamespace(periods=[], power=[]))
    assert path.stat().st_size > 10_000


def test_per_transit_windows_share_one_panel_and_flux_scale(tmp_path):
    """Depths compare by eye: the transits' windows lie side by side on one flux scale, each
    under its measured depth, above its mid-event time, with a model of its own depth."""
    lc = transiting()
    times = [t for t in EPOCH + PERIOD * np.arange(-10, 10) if lc.time[0] < t < lc.time[-1]]
    depths = (DEPTH, 3 * DEPTH, *[DEPTH] * (len(times) - 2))
    signal = replace(periodic_signal(), transit_times=tuple(times), transit_depths=depths)
    vetting_sheet(lc, lc, signal, vetting_row(signal), tmp_path / "depths.png")
    panel = sheets._process_page().transits
    assert [label.get_text() for label in panel.get_xticklabels()] == \
        [f"{t:.2f}" for t in times[:sheets.MAX_TRANSIT_WINDOWS]]
    assert len(panel.texts) == sheets.MAX_TRANSIT_WINDOWS < len(times)
    measured = [float(text.get_text().removesuffix(" ppm")) for text in panel.texts]
    assert all(0.5 < depth / (DEPTH * 1e6) < 1.5 for depth in measured)  # the data's, not 3x
    points, _, model = panel.lines
    assert min(panel.get_ylim()) < 1 - 3 * DEPTH  # the deepest model fits
    ticks = panel.get_xticks()
    second = np.abs(model.get_xdata() - ticks[1]) < 0.5 * (ticks[1] - ticks[0])
    assert np.nanmin(model.get_ydata()[second]) == pytest.approx(1 - 3 * DEPTH)
    x = points.get_xdata()
    assert np.all((x[np.isfinite(x)] > ticks[0] - (ticks[1] - ticks[0]) / 2)
                  & (x[np.isfinite(x)] < ticks[-1] + (ticks[1] - ticks[0]) / 2))


def test_an_ephemeris_that_misses_the_data_leaves_a_note_for_its_windows(tmp_path):
    lc = transiting()
    signal = replace(periodic_signal(), period=200.0, epoch=float(lc.time[0]) - 100.0,
                     transit_times=(), transit_depths=())
    path = vetting_sheet(lc, lc, signal, vetting_row(signal), tmp_path / "none.png")
    assert png_size(path.read_bytes())[0] == int(PAGE_INCHES[0] * DPI)
    panel = sheets._process_page().transits
    assert [text.get_text() for text in panel.texts] == ["no transit in the data"]
    assert not panel.lines


def test_one_outlier_does_not_set_the_per_transit_panels_flux_scale(tmp_path):
    lc = transiting()
    lc.flux[np.argmin(np.abs(lc.time - (EPOCH + PERIOD + 0.1)))] = 0.5  # in the second window
    vetting_sheet(lc, lc, periodic_signal(), vetting_row(periodic_signal()), tmp_path / "o.png")
    low, high = sheets._process_page().transits.get_ylim()
    assert 1 - 2 * DEPTH < low < 1 - DEPTH and 1.0 < high < 1.01


def test_a_sheet_shows_its_signal_with_the_other_signals_events_masked(tmp_path, monkeypatch):
    """Two planets in one light curve: each sheet gets the light curves its signal was
    vetted on, the other planet's transits flagged in the raw one and absent from the
    detrended one, so that they show in neither its fold nor its per-transit windows."""
    second = replace(periodic_signal(), index=1, period=5.3, epoch=1327.7, depth=0.002,
                     transit_times=(), transit_depths=())
    lc = transiting()
    lc = replace(lc, flux=(lc.flux - 0.002 * (np.abs(second.offset(lc.time)) < DURATION / 2))
                 .astype(np.float32))
    drawn = {}
    monkeypatch.setattr(sheets, "vetting_sheet", lambda lc, detrended, signal, *_:
                        drawn.update({signal.index: (lc, detrended)}))
    vet_and_draw(lc, [periodic_signal(), second], SearchConfig(), VetConfig(), tmp_path,
                 DISPOSITIONS, None)
    for signal, other in ((periodic_signal(), second), (second, periodic_signal())):
        flagged, detrended = drawn[signal.index]
        in_other = np.abs(other.offset(lc.time)) < DURATION / 2
        assert np.all(flagged.quality[in_other] & OTHER_SIGNAL_BIT)
        assert not np.any(np.abs(other.offset(detrended.time)) < DURATION / 2)
        own = np.abs(signal.offset(detrended.time)) < DURATION / 4
        assert np.median(detrended.flux[own]) < 1 - 0.5 * signal.depth  # its own transits kept


def test_the_sheet_says_what_it_masked_which_depths_it_shows_and_why_rp_is_missing(tmp_path):
    lc = transiting()
    flagged = replace(lc, meta=replace(lc.meta, radius=np.nan),
                      quality=np.where(np.arange(len(lc)) < 10, OTHER_SIGNAL_BIT, lc.quality))
    vetting_sheet(flagged, lc, periodic_signal(), vetting_row(periodic_signal()),
                  tmp_path / "a.png")
    page = sheets._process_page()
    assert page.detrended.get_title(loc="left") == (
        "detrended light curve, other signals' events masked")
    assert page.fold.get_title(loc="left").startswith("phase fold (central median): ")
    header = "\n".join(text.get_text() for text in page.fig.texts)
    assert "box depth = 4000 ± 200 ppm" in header and "Rp = n/a (no stellar radius)" in header
    assert "T0 = 1326.30000 BTJD    " in header  # a TESS star's times in BTJD alone
    vetting_sheet(lc, lc, periodic_signal(), vetting_row(periodic_signal()), tmp_path / "b.png")
    assert sheets._process_page().detrended.get_title(loc="left") == "detrended light curve"
    assert "Rp = 2.30 R_earth" in "\n".join(t.get_text() for t in page.fig.texts)


def test_the_header_gives_the_networks_score_and_what_raised_the_light_curve(tmp_path):
    row = vetting_row(periodic_signal())
    lc = transiting()

    def header(network: dict) -> list[str]:
        vetting_sheet(lc, lc, periodic_signal(), row | network, tmp_path / "a.png")
        return [text.get_text() for text in sheets._process_page().fig.texts]

    texts = header({"score": 0.0151, "network_flagged": False,
                    "detected_by": "periodic+single"})
    assert "network score = 0.015 (not flagged)" in texts
    assert "raised by: periodic+single" in texts
    assert "network score = 0.930 (flagged)" in header(
        {"score": 0.93, "network_flagged": True, "detected_by": "network"})
    assert "network score = n/a (not scored)" in header({})
    assert not any("raised by" in text for text in header({"score": 0.2}))


def test_the_headers_texts_do_not_overlap_on_the_longest_lines(tmp_path):
    """A K2 star (epochs in BTJD and BKJD), a deep signal, every detection path."""
    lc = transiting()
    k2 = replace(lc, meta=replace(lc.meta, mission="K2", tic=201367065))
    signal = replace(periodic_signal(), tic=201367065, period=123.456789, depth=0.3,
                     depth_err=0.012, duration=0.52, snr=4565.6, sde=17.8)
    row = vetting_row(signal) | {"score": 0.0151, "network_flagged": False,
                                 "detected_by": "network+periodic+single+edge+sectors"}
    vetting_sheet(k2, k2, signal, row, tmp_path / "k2.png")
    page = sheets._process_page()
    fig, renderer = page.fig, page.canvas.get_renderer()
    boxes = {text.get_text(): text.get_window_extent(renderer) for text in fig.texts}
    network = [boxes.pop("network score = 0.015 (not flagged)"),
               boxes.pop("raised by: network+periodic+single+edge+sectors")]
    assert all(box.x1 <= fig.bbox.x1 for box in network)
    assert not network[0].overlaps(network[1])
    assert not any(box.overlaps(other) for box in network for other in boxes.values())


def test_vetting_gives_the_network_to_the_sheets_only(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(sheets, "vetting_sheet", lambda lc, detrended, signal, row, *_:
                        drawn.append(row))
    network = {"score": 0.2, "network_flagged": False, "detected_by": "periodic"}
    rows, _ = vet_and_draw(transiting(), [periodic_signal()], SearchConfig(), VetConfig(),
                           tmp_path, DISPOSITIONS, None, network)
    assert drawn[0].items() >= network.items()
    assert not set(rows[0]) & set(network)


def test_the_secondary_panel_gives_the_vettings_depth_and_in_minus_out_compares_means(tmp_path):
    """The secondary's title and model are the vetting table's depth; a skewed background
    that is the same in and out of transit (a quarter of its cadences 1000, the rest 0:
    median 0, mean 250) shows no shift."""
    lc = transiting()
    lc = replace(lc, background=np.where(np.arange(len(lc)) % 4 == 0, 1000.0, 0.0)
                 .astype(np.float32))
    vetting_sheet(lc, lc, periodic_signal(), vetting_row(periodic_signal()), tmp_path / "a.png")
    page = sheets._process_page()
    assert page.secondary.get_title(loc="left") == "secondary at phase 0.520 (vetting): 100 ppm"
    title = page.pixels[2].get_title(loc="left")
    assert title.startswith("background: in - out = ")
    assert abs(float(title.rsplit(" ", 1)[1])) < 100


def test_x_labels_sit_where_matplotlibs_own_placement_puts_them():
    """The page's fixed x-label offset (XLABEL_DROP) equals matplotlib's placement below the
    tick labels, which measures them on every draw."""
    def label_drop(fig, ax) -> float:
        ax.plot([1325.0, 1350.0], [0.99, 1.01])
        ax.set_xlabel("time [BTJD]")
        fig.canvas.draw()
        return ax.get_window_extent().y0 - ax.xaxis.label.get_window_extent().y1

    with matplotlib.rc_context(sheets.STYLE):
        own = Figure(figsize=PAGE_INCHES, dpi=DPI)
        FigureCanvasAgg(own)
        automatic = label_drop(own, own.add_subplot())
        page = sheets._page()
        fixed = label_drop(page.fig, page.raw)
    assert fixed == pytest.approx(automatic, abs=0.5)  # pixels
    assert automatic == pytest.approx(sheets.XLABEL_DROP * DPI / 72, abs=0.5)


def test_the_pages_text_images_are_aggs_own_drawn_again():
    """The page's renderer keeps each line's size and image: a figure of texts (sizes,
    fonts, a weight, a rotation, no antialiasing, alignments that use the sizes, lines
    drawn twice) has Agg's own pixels, on its first draw and again."""
    def pixels(canvas_class) -> np.ndarray:
        fig = Figure(figsize=(3, 2), dpi=DPI)
        canvas = canvas_class(fig)
        for n, (size, family, weight, angle, smooth) in enumerate(
                [(6, "DejaVu Sans", "normal", 0, True), (11, "monospace", "normal", 0, True),
                 (8, "DejaVu Sans", "normal", 30, True), (6, "DejaVu Sans", "bold", 0, True),
                 (6, "DejaVu Sans", "normal", 0, False)]):
            fig.text(0.1 + 0.15 * n, 0.1 + 0.18 * n, "P = 3.141593 d\nSNR 12", fontsize=size,
                     family=family, weight=weight, rotation=angle, antialiased=smooth,
                     color=f"C{n}", ha=("left", "center", "right")[n % 3],
                     va=("top", "center")[n % 2])
        canvas.draw()
        first = np.asarray(canvas.buffer_rgba()).copy()
        canvas.draw()
        assert np.array_equal(np.asarray(canvas.buffer_rgba()), first)
        return first

    with matplotlib.rc_context(sheets.STYLE):
        assert np.array_equal(pixels(sheets._Canvas), pixels(FigureCanvasAgg))
