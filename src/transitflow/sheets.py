"""One-page PNG vetting sheet per signal."""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import FontProperties
from matplotlib.figure import Figure
from matplotlib.ticker import AutoLocator, FormatStrFormatter, NullLocator, ScalarFormatter
from matplotlib.transforms import offset_copy
from PIL import Image

from transitflow.lightcurve import (BKJD_ZERO, BTJD_ZERO, MISSION_SECTORS, STITCHED_SECTOR,
                                    LightCurve, LightCurveMeta)
from transitflow.searching import Spectrum
from transitflow.signals import Signal, transit_offset
from transitflow.tables import atomic_output
from transitflow.vetting.measure import OTHER_SIGNAL_BIT

PAGE_INCHES = (11.0, 8.5)
LEFT = 0.045  # figure fraction left of the header and the panels
DPI = 100
#: zlib level 3 encodes a sheet 6% faster than Pillow's default 6, into a 7% smaller file.
PNG_OPTIONS = {"compress_level": 3}
MAX_TRANSIT_WINDOWS = 8  # in the per-transit panel
WINDOW_SPACING = 1.1  # per-transit windows' mid-events apart, in window widths
REASON_LINE_CHARS = 140  # a line of digits and capitals reaches ~0.9 of the page's width
REASONS_X = LEFT + 0.14  # right of the longest disposition, SYSTEMATIC
REASON_LINES = 2  # beside the disposition
RIGHT = 0.99  # figure fraction of the panels' right edge, where the network's word ends
NUMBERS_LINE = 0.0165  # figure fraction of a line of the header's 8-point numbers
#: Points from an axes' bottom to the top of its x label: where matplotlib puts it below
#: the tick labels of :data:`STYLE`. Fixed, as placing it measured every tick label of the
#: axis on each sheet (a fifth of a sheet's time, with the y axes').
XLABEL_DROP = 12.08
STYLE = {"font.size": 6.5, "axes.titlesize": 7, "axes.labelsize": 6.5, "xtick.labelsize": 6,
         "ytick.labelsize": 6, "axes.titlepad": 2.5, "xtick.major.pad": 1.5,
         "ytick.major.pad": 1.5, "axes.labelpad": 1.5, "axes.formatter.useoffset": False,
         "axes.titley": 1.0, "xtick.major.size": 3.5, "xtick.direction": "out",
         "font.family": "DejaVu Sans",  # the tick labels' height sets XLABEL_DROP
         "text.hinting": "no_hinting"}  # FreeType's hinting took a sixth of a sheet's time
POINTS = {"ls": "none", "marker": ".", "ms": 1.2, "color": "0.6"}
BINNED = {"ls": "none", "marker": "o", "ms": 2.5, "color": "C0"}
MODEL = {"color": "C3", "lw": 1.0}
MARK = {"color": "C3", "alpha": 0.35, "lw": 0.6}
PERIOD_MARK = {"color": "C3", "alpha": 0.8, "lw": 0.8}
HIGHLIGHT = {"color": "C3", "alpha": 0.08, "lw": 0}
SEPARATOR = {"color": "0.75", "lw": 0.6}
DISPOSITION_COLORS = {"PC": "tab:green"}
KEPLER_TELESCOPE_MISSIONS = ("K2", "Kepler")
#: Text images a process's page keeps (:class:`_TextImageRenderer`) before it starts afresh.
MAX_TEXT_IMAGES = 4096


def vetting_sheet(lc: LightCurve, detrended: LightCurve, signal: Signal, vetting: dict,
                  out_png: Path, periodogram=None) -> Path:
    """Draw the one-page vetting sheet of one signal.

    Parameters
    ----------
    lc
        The raw light curve (any flux units; shown relative to its median), the cadences
        of other signals' events flagged ``OTHER_SIGNAL_BIT`` where the vetting masked them
        (:func:`transitflow.vetting.vetter.others_masked`).
    detrended
        The light curve from :func:`transitflow.detrend.detrend`, relative flux ~1, without
        those cadences: every panel but the raw light curve and the periodogram (the search's,
        of the whole light curve) shows this signal alone.
    signal
        The signal to vet; a single transit (NaN period) is shown around its event.
    vetting
        The signal's flat vetting row (``T_metric``, ``T_sigma``, ``T_flag``, ``T_reason``
        per test, ``secondary_phase``, ``disposition``, ``reasons``), with the light
        curve's ``score``, ``network_flagged`` and ``detected_by`` where known.
    out_png
        Where to write the PNG.
    periodogram
        Object with ``periods`` and ``power`` arrays, or None.

    Returns
    -------
    Path
        ``out_png``. The bytes depend only on the inputs (no timestamp metadata).
    """
    with matplotlib.rc_context(STYLE), atomic_output(out_png) as partial:
        page = _page()
        _draw(page, lc, detrended, signal, vetting, periodogram)
        page.write_png(partial)
    return Path(out_png)


class _Page:
    """The sheet's figure and its panels, made once per process and cleared for each sheet:
    making a figure's panels and their ticks was about half a sheet's cost."""

    def __init__(self) -> None:
        self.fig = Figure(figsize=PAGE_INCHES, dpi=DPI, facecolor="white")  # opaque
        # one canvas, so one renderer, whose text sizes matplotlib keeps from sheet to sheet
        self.canvas = _Canvas(self.fig)
        grid = self.fig.add_gridspec(4, 8, height_ratios=(1, 1, 1, 0.9), left=LEFT,
                                     right=RIGHT, top=0.86, bottom=0.035, hspace=0.6,
                                     wspace=0.42)
        add = self.fig.add_subplot
        self.raw, self.detrended = add(grid[0, :4]), add(grid[0, 4:])
        self.periodogram, self.fold = add(grid[1, :2]), add(grid[1, 2:4])
        self.odd = add(grid[1, 4])
        self.even = add(grid[1, 5], sharey=self.odd)
        self.secondary = add(grid[1, 6:])
        self.pixels = [add(grid[2, 2 * column:2 * column + 2]) for column in range(3)]
        self.table = add(grid[2, 6:])
        self.table.axis("off")
        self.transits = add(grid[3, :])  # one panel, its windows side by side: fewer axes
        self.grid = grid
        for ax in self.fig.axes:
            below = offset_copy(ax.transAxes, fig=self.fig, y=-XLABEL_DROP, units="points")
            ax.xaxis.set_label_coords(0.5, 0.0, transform=below)
            ax.yaxis.set_label_coords(0.0, 0.5)  # no panel has a y label

    def write_png(self, path: Path) -> None:
        """Draw the page and write it as an RGB PNG (no alpha channel on an opaque page: a
        quarter less to compress) with no metadata but its resolution."""
        self.canvas.draw()
        # Pillow drops the alpha channel itself: a sixth of the time of copying a numpy slice
        rgba = Image.frombuffer("RGBA", self.canvas.get_width_height(),
                                self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        rgba.convert("RGB").save(path, format="png", dpi=(DPI, DPI), **PNG_OPTIONS)

    def cleared(self) -> _Page:
        """The page with no header and every panel empty, linear and autoscaled (not
        ``Axes.clear``, which would drop the fixed label coordinates)."""
        for text in list(self.fig.texts):
            text.remove()
        for ax in self.fig.axes:
            for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images]:
                artist.remove()
            ax.set_title("", loc="left")
            ax.set_xlabel("")
            if _departed(ax.xaxis):  # also puts back the default tick locator and
                ax.set_xscale("linear")  # formatter that a panel's note replaced
            if _departed(ax.yaxis):
                ax.set_yscale("linear")
            ax.relim()
            ax.set_autoscale_on(True)
            ax.set_visible(True)
        return self


def _departed(axis: Axis) -> bool:
    """Whether an x or y ``axis`` left its linear scale, or the default tick locator and
    formatter of that scale (putting them back on every axis took a twentieth of a sheet).
    An event window's fewer ticks (:func:`_event_axis`, set on its locator) stay: that
    panel always asks for them, or gets a note, whose fixed ticks are reset."""
    return (axis.get_scale() != "linear" or type(axis.get_major_locator()) is not AutoLocator
            or type(axis.get_major_formatter()) is not ScalarFormatter)


class _TextImage(NamedTuple):
    """A line of text rasterised at angle 0, and its metrics (pixels)."""

    image: np.ndarray
    width: float
    height: float
    descent: float
    x_offset: float
    y_offset: float


class _TextImageRenderer(RendererAgg):
    """Agg's renderer keeping each line of text it measures or draws, rasterised: FreeType's
    layout and rasterising of a line's glyphs took a tenth of a sheet, done once to measure
    the line and again to draw it, and tick labels, axis labels and titles recur from sheet
    to sheet. The sizes and pixels are Agg's own. A line is keyed by its text and font
    properties: a family alias (``monospace``) resolves through the rcParams, which are
    :data:`STYLE` wherever the page draws."""

    def __init__(self, width: float, height: float, dpi: float) -> None:
        super().__init__(width, height, dpi)
        self._lines: dict[tuple, _TextImage] = {}

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        line = self._line(s, prop, matplotlib.rcParams["text.antialiased"])
        return line.width, line.height, line.descent

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        line = self._line(s, prop, gc.get_antialiased())
        sine, cosine = math.sin(math.radians(angle)), math.cos(math.radians(angle))
        x = round(x + line.x_offset + line.descent * sine)
        y = round(y + line.y_offset + line.descent * cosine)
        self._renderer.draw_text_image(line.image, x, y + 1, angle, gc)

    def _line(self, text: str, prop: FontProperties, antialiased: bool) -> _TextImage:
        """``text`` in the font of ``prop``, laid out and rasterised as Agg does."""
        key = (text, _font_key(prop), antialiased, get_hinting_flag())
        if key not in self._lines:
            if len(self._lines) >= MAX_TEXT_IMAGES:
                self._lines.clear()
            font = self._prepare_font(prop)
            font.set_text(text, 0, flags=get_hinting_flag())
            width, height = font.get_width_height()
            font.draw_glyphs_to_bitmap(antialiased=antialiased)
            x_offset, y_offset = font.get_bitmap_offset()
            self._lines[key] = _TextImage(np.array(font.get_image()), width / 64.0,
                                          height / 64.0, font.get_descent() / 64.0,
                                          x_offset / 64.0, y_offset / 64.0)
        return self._lines[key]


def _font_key(prop: FontProperties) -> tuple:
    """What picks a font and its size (the fields of ``FontProperties.__hash__``)."""
    return (tuple(prop.get_family()), prop.get_slant(), prop.get_variant(), prop.get_weight(),
            prop.get_stretch(), prop.get_size(), prop.get_file(), prop.get_math_fontfamily())


class _Canvas(FigureCanvasAgg):
    """An Agg canvas drawing with a :class:`_TextImageRenderer`."""

    def get_renderer(self) -> _TextImageRenderer:
        key = (*self.figure.bbox.size, self.figure.dpi)
        if self._lastKey != key:
            self.renderer = _TextImageRenderer(*key)
            self._lastKey = key
        return self.renderer


@functools.cache
def _process_page() -> _Page:
    """This process's page, made on first use (under :data:`STYLE`, as sheets are drawn)."""
    return _Page()


def _page() -> _Page:
    """This process's page (:class:`_Page`), cleared."""
    return _process_page().cleared()


def draw_sheets(drawn: Sequence[tuple[Signal, dict]],
                views: Sequence[tuple[LightCurve, LightCurve]], spectrum: Spectrum | None,
                sheets_dir: Path) -> None:
    """A sheet in ``sheets_dir`` for each (signal, vetting row) of ``drawn`` on its (raw,
    detrended) light curves in ``views``, all with the search's ``spectrum`` of the light
    curve (None: none)."""
    for (signal, row), (lc, detrended) in zip(drawn, views, strict=True):
        vetting_sheet(lc, detrended, signal, row, sheets_dir / f"{signal.key}.png", spectrum)


def _draw(page: _Page, lc: LightCurve, detrended: LightCurve, signal: Signal, vetting: dict,
          periodogram) -> None:
    raw = lc.good()
    times = _transit_times(signal, detrended.time)
    x = signal.offset(detrended.time)
    _header(page.fig, lc.meta, signal, vetting)
    _time_series(page.raw, raw.time, _relative(raw.flux), times, "raw light curve (relative flux)")
    masked = ", other signals' events masked" if np.any(lc.quality & OTHER_SIGNAL_BIT) else ""
    _time_series(page.detrended, detrended.time, detrended.flux, times,
                 f"detrended light curve{masked}")
    _periodogram(page.periodogram, periodogram, signal)
    _fold_panel(page.fold, x, detrended.flux, signal, signal.depth,
                f"{'phase fold' if signal.periodic else 'single event'} (central median)")
    _odd_even(page.odd, page.even, x, detrended, signal)
    _secondary(page.secondary, detrended, signal, vetting)
    for ax, (values, title) in zip(page.pixels, ((detrended.centroid_col, "centroid column [px]"),
                                                 (detrended.centroid_row, "centroid row [px]"),
                                                 (detrended.background, "background"))):
        _in_out_panel(ax, x, values, signal, title)
    _vetting_table(page.table, vetting)
    _per_transit(page, detrended, signal, times)


def _half_window(signal: Signal) -> float:
    """Half-width (days) of the windows drawn around an event."""
    half = 2.5 * signal.duration if math.isfinite(signal.duration) and signal.duration > 0 else 0.25
    return min(half, 0.5 * signal.period) if signal.periodic else half


def _transit_times(signal: Signal, time: np.ndarray) -> np.ndarray:
    """The signal's transit times, or its ephemeris over the data."""
    if signal.transit_times:
        return np.asarray(signal.transit_times, dtype=float)
    if not (signal.periodic and len(time)):
        return np.array([signal.epoch])
    first = math.ceil((time.min() - signal.epoch) / signal.period)
    last = math.floor((time.max() - signal.epoch) / signal.period)
    return signal.epoch + signal.period * np.arange(first, last + 1)


def _relative(flux: np.ndarray) -> np.ndarray:
    finite = flux[np.isfinite(flux)]
    median = np.median(finite) if len(finite) else 0.0
    return flux / median if median else flux


def _trapezoid(x: np.ndarray, depth: float, duration: float) -> np.ndarray:
    """A trapezoid transit of total ``duration`` with ingress and egress of 15% each."""
    ramp = np.clip((0.5 * duration - np.abs(x)) / (0.15 * duration), 0.0, 1.0)
    return 1.0 - depth * ramp


def _binned(x: np.ndarray, y: np.ndarray, half: float,
            n_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Bin centres and mean values of the finite ``y`` in ``n_bins`` over ``[-half, half]``."""
    edges = np.linspace(-half, half, n_bins + 1)
    index = np.digitize(x, edges) - 1
    ok = (index >= 0) & (index < n_bins) & np.isfinite(y)
    counts = np.bincount(index[ok], minlength=n_bins)
    sums = np.bincount(index[ok], weights=y[ok], minlength=n_bins)
    keep = counts > 0
    return 0.5 * (edges[:-1] + edges[1:])[keep], sums[keep] / counts[keep]


def _n_bins(signal: Signal, half: float) -> int:
    per_duration = 2 * half / signal.duration * 6 if signal.duration > 0 else 40
    return int(np.clip(per_duration, 10, 60))


def _note(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _fmt(value, spec: str) -> str:
    """``value`` formatted with ``spec``, or "n/a" when missing or not finite."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return format(number, spec) if math.isfinite(number) else "n/a"


def _header(fig: Figure, meta: LightCurveMeta, signal: Signal, row: dict) -> None:
    """Who the signal is, its numbers, and the disposition with its reasons, above the grid."""
    disposition = str(row.get("disposition", "") or "?")
    sectors = MISSION_SECTORS.get(meta.mission, "sector")  # K2's campaigns, Kepler's quarters
    where = (f"{sectors}s joined" if signal.sector == STITCHED_SECTOR
             else f"{sectors} {signal.sector}")
    fig.text(LEFT, 0.985, f"{meta.star_id}   {where}   signal {signal.index}   "
             f"({signal.kind}, {signal.method})", fontsize=11, weight="bold", va="top")
    ephemeris = (f"P = {_fmt(signal.period, '.6f')} d    T0 = {_epoch(signal.epoch, meta)}    "
                 f"box depth = {_fmt(signal.depth * 1e6, '.0f')} ± "
                 f"{_fmt(signal.depth_err * 1e6, '.0f')} ppm    "
                 f"duration = {_fmt(signal.duration * 24, '.2f')} h")
    strength = (f"SNR = {_fmt(signal.snr, '.1f')}    SDE = {_fmt(signal.sde, '.1f')}    "
                f"transits = {signal.n_transits}    Rp = {_radius(signal, meta)}")
    score, paths = _network(row)
    # the network's word right-aligned beside the shorter lines: the title and the SNR's
    for x, y, text, align in ((LEFT, 0.958, ephemeris, "left"),
                              (LEFT, 0.958 - NUMBERS_LINE, strength, "left"),
                              (RIGHT, 0.985, score, "right"),
                              (RIGHT, 0.958 - NUMBERS_LINE, paths, "right")):
        fig.text(x, y, text, fontsize=8, va="top", ha=align, family="monospace")
    fig.text(LEFT, 0.918, disposition, fontsize=13, weight="bold", va="top",
             color=DISPOSITION_COLORS.get(disposition, "tab:red"))
    fig.text(LEFT, 0.897, "by vetting", fontsize=6.5, va="top", color="grey")
    # wrapped here: matplotlib's own wrapping (wrap=True) took a quarter of a sheet's time
    reasons = textwrap.fill(str(row.get("reasons", "") or ""), REASON_LINE_CHARS,
                            max_lines=REASON_LINES, placeholder=" ...")
    fig.text(REASONS_X, 0.914, reasons, fontsize=7.5, va="top")


def _epoch(epoch: float, meta: LightCurveMeta) -> str:
    """The epoch in BTJD, and for Kepler and K2 stars in BKJD too (their missions' times)."""
    btjd = f"{_fmt(epoch, '.5f')} BTJD"
    if meta.mission not in KEPLER_TELESCOPE_MISSIONS:
        return btjd
    return f"{btjd} = {_fmt(epoch + BTJD_ZERO - BKJD_ZERO, '.5f')} BKJD"


def _network(row: dict) -> tuple[str, str]:
    """The network's score of the light curve, and whether it flagged it, and the detection
    paths that sent it to the search (the row's ``score``, ``network_flagged`` and
    ``detected_by``; absent: not scored, not known, none)."""
    score = _fmt(row.get("score"), ".3f")
    flagged = row.get("network_flagged")
    if score == "n/a":
        line = "network score = n/a (not scored)"
    elif flagged is None:
        line = f"network score = {score}"
    else:
        line = f"network score = {score} ({'flagged' if flagged else 'not flagged'})"
    paths = str(row.get("detected_by", "") or "")
    return line, f"raised by: {paths}" if paths else ""


def _radius(signal: Signal, meta: LightCurveMeta) -> str:
    """The planet's radius in Earth radii, or why it is missing."""
    if not math.isfinite(meta.radius):
        return "n/a (no stellar radius)"
    return f"{_fmt(signal.radius_earth, '.2f')} R_earth"


def _vetting_table(ax: Axes, row: dict) -> None:
    tests = [name[:-len("_flag")] for name in row if name.endswith("_flag")]
    lines = [f"{'test':<12}{'metric':>9}{'sigma':>7}  flag"]
    lines += [f"{test:<12}{_fmt(row.get(f'{test}_metric'), '.3g'):>9}"
              f"{_fmt(row.get(f'{test}_sigma'), '.1f'):>7}  "
              f"{'FLAG' if _flagged(row[f'{test}_flag']) else ''}" for test in tests]
    ax.text(0, 1, "\n".join(lines), family="monospace", fontsize=6.5, va="top")
    ax.set_title("vetting tests", loc="left")


def _flagged(value) -> bool:
    """True for a true flag; False for false, missing (None, NaN) or unknown values."""
    return isinstance(value, (bool, np.bool_)) and bool(value)


def _time_series(ax: Axes, time: np.ndarray, flux: np.ndarray, transit_times: np.ndarray,
                 title: str) -> None:
    ax.plot(time, flux, **POINTS)
    ax.vlines(transit_times, 0, 1, transform=ax.get_xaxis_transform(), **MARK)
    ax.set_title(title, loc="left")
    ax.set_xlabel("time [BTJD]")


def _periodogram(ax: Axes, periodogram, signal: Signal) -> None:
    if periodogram is None or not len(periodogram.periods):
        _note(ax, "no periodogram")
        return
    ax.plot(periodogram.periods, periodogram.power, color="k", lw=0.6)
    if np.all(np.asarray(periodogram.periods) > 0):
        ax.set_xscale("log")
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))  # plain text: no mathtext
    if signal.periodic:
        ax.axvline(signal.period, **PERIOD_MARK)
        for harmonic in (0.5, 2.0):
            ax.axvline(signal.period * harmonic, ls=":", **PERIOD_MARK)
    ax.set_title("periodogram, first search round (all signals)", loc="left")
    ax.set_xlabel("period [d]")


class _Window(NamedTuple):
    """An event window's points, their bins and a trapezoid model, in hours from mid-event,
    and its depth measured as the median of the box's central half (a limb-darkened or
    V-shaped transit's centre is deeper than the box's mean, the header's depth)."""

    points: tuple[np.ndarray, np.ndarray]
    bins: tuple[np.ndarray, np.ndarray]
    model: tuple[np.ndarray, np.ndarray]
    depth: float


def _window(x: np.ndarray, flux: np.ndarray, signal: Signal, model_depth: float) -> _Window:
    """The points within :func:`_half_window` of mid-event (``x``, days), their bins and a
    trapezoid of ``model_depth`` (none when it or the duration is unknown)."""
    half = _half_window(signal)
    near = np.abs(x) < half
    centres, means = _binned(x[near], flux[near], half, _n_bins(signal, half))
    grid = (np.linspace(-half, half, 301) if math.isfinite(model_depth) and signal.duration > 0
            else np.empty(0))
    inside = flux[np.abs(x) < 0.25 * signal.duration]
    return _Window((24 * x[near], flux[near]), (24 * centres, means),
                   (24 * grid, _trapezoid(grid, model_depth, signal.duration)),
                   1 - float(np.median(inside)) if len(inside) else math.nan)


def _fold_panel(ax: Axes, x: np.ndarray, flux: np.ndarray, signal: Signal, model_depth: float,
                title: str, title_depth: float | None = None) -> None:
    """A :func:`_window` of ``model_depth``, with ``title_depth`` in the title, or when None
    the window's measured depth."""
    window = _window(x, flux, signal, model_depth)
    ax.plot(*window.points, **POINTS)
    ax.plot(*window.bins, **BINNED)
    ax.plot(*window.model, **MODEL)
    depth = window.depth if title_depth is None else title_depth
    ax.set_title(f"{title}: {_fmt(depth * 1e6, '.0f')} ppm", loc="left")
    _event_axis(ax, _half_window(signal))


def _event_axis(ax: Axes, half: float) -> None:
    """The x axis of an event window: hours from mid-event, few ticks."""
    ax.set_xlim(-24 * half, 24 * half)
    ax.set_xlabel("hours from mid-event")
    ax.locator_params(nbins=4)


def _odd_even(odd_ax: Axes, even_ax: Axes, x: np.ndarray, lc: LightCurve, signal: Signal) -> None:
    if not signal.periodic:
        for ax in (odd_ax, even_ax):
            _note(ax, "single transit:\nno odd/even")
        return
    cycle = np.round((lc.time - signal.epoch) / signal.period).astype(int)
    odd = cycle % 2 == 1
    _fold_panel(odd_ax, x[odd], lc.flux[odd], signal, signal.depth, "odd")
    _fold_panel(even_ax, x[~odd], lc.flux[~odd], signal, signal.depth, "even")


def _secondary(ax: Axes, lc: LightCurve, signal: Signal, row: dict) -> None:
    if not signal.periodic:
        _note(ax, "single transit:\nno secondary window")
        return
    phase = _row_number(row, "secondary_phase", 0.5)
    x = transit_offset(lc.time, signal.period, signal.epoch + phase * signal.period)
    depth = _row_number(row, "secondary_depth", math.nan)  # the vetting's, as the table's
    measured = math.isfinite(depth)
    _fold_panel(ax, x, lc.flux, signal, depth, f"secondary at phase {phase:.3f} "
                f"({'vetting' if measured else 'central median'})", depth if measured else None)


def _row_number(row: dict, name: str, default: float) -> float:
    value = row.get(name)
    return float(value) if value is not None and math.isfinite(float(value)) else default


def _in_out_panel(ax: Axes, x: np.ndarray, values: np.ndarray, signal: Signal, title: str) -> None:
    """A per-cadence quantity around the events (less its median outside the transit), and
    its mean in transit minus its mean outside, in the title."""
    half = _half_window(signal)
    near = (np.abs(x) < half) & np.isfinite(values)
    if not near.any():
        _note(ax, f"{title}:\nno data")
        return
    inside = np.abs(x[near]) < 0.5 * signal.duration
    outside = values[near][~inside]
    offset = values[near] - (np.median(outside) if len(outside) else 0.0)
    ax.plot(24 * x[near], offset, **POINTS)
    centres, means = _binned(x[near], offset, half, _n_bins(signal, half))
    ax.plot(24 * centres, means, **BINNED)
    ax.axvspan(-12 * signal.duration, 12 * signal.duration, **HIGHLIGHT)
    shift = (np.mean(offset[inside]) - np.mean(offset[~inside]) if inside.any() and len(outside)
             else math.nan)
    ax.set_title(f"{title}: in - out = {_fmt(shift, '.2e')}", loc="left")
    _event_axis(ax, half)


def _per_transit(page: _Page, lc: LightCurve, signal: Signal, times: np.ndarray) -> None:
    """Windows about the first transits side by side in one panel, on one flux scale (so
    that their depths compare by eye, :func:`_shared_range`): each with its points, bins and
    a model of its own depth, its mid-event time below and its measured depth above."""
    depths = signal.transit_depths if len(signal.transit_depths) == len(times) else ()
    shown = np.asarray(times[:MAX_TRANSIT_WINDOWS], dtype=float)
    ax = page.transits
    ax.set_position(page.grid[3, :max(len(shown), 1)].get_position(page.fig))  # a column each
    if not len(shown):  # an ephemeris that misses the data
        _note(ax, "no transit in the data")
        return
    windows = [_window(lc.time - t, lc.flux, signal, depths[column] if depths else signal.depth)
               for column, t in enumerate(shown)]
    half = _half_window(signal)
    stride = 48 * half * WINDOW_SPACING  # hours from one window's mid-event to the next's
    centres = stride * np.arange(len(shown))
    for part, style in (("points", POINTS), ("bins", BINNED), ("model", MODEL)):
        ax.plot(*_side_by_side([getattr(window, part) for window in windows], centres),
                **style)
    above = ax.get_xaxis_transform()
    ax.vlines(centres[1:] - stride / 2, 0, 1, transform=above, **SEPARATOR)
    for centre, window in zip(centres, windows):
        ax.text(centre, 1.0, f"{_fmt(window.depth * 1e6, '.0f')} ppm", transform=above,
                ha="center", va="bottom")
    ax.set_xticks(centres, [f"{t:.2f}" for t in shown])
    ax.set_xlim(-stride / 2, centres[-1] + stride / 2)
    ax.set_xlabel(f"mid-event [BTJD], windows of \u00b1{24 * half:.1f} h; above: depth, "
                  "central median", loc="left")  # from under the first window on
    drawn = np.concatenate([window.points[1] for window in windows])
    limits = _shared_range(drawn, [*depths, signal.depth])
    if limits:
        ax.set_ylim(*limits)


def _side_by_side(parts: Sequence[tuple[np.ndarray, np.ndarray]],
                  centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The windows' (x, y) in one pair, each x about its centre, NaN between windows (so
    that no line joins them)."""
    x = np.concatenate([np.append(part[0] + centre, np.nan)
                        for part, centre in zip(parts, centres)])
    y = np.concatenate([np.append(part[1], np.nan) for part in parts])
    return x, y


def _shared_range(flux: np.ndarray, depths: Sequence[float]) -> tuple[float, float] | None:
    """The flux range of the per-transit panel: its points from the 0.5th to the 99.5th
    percentile, so that one outlier does not flatten every window, widened to the deepest
    model; None without finite points."""
    finite = flux[np.isfinite(flux)]
    if not len(finite):
        return None
    low, high = np.percentile(finite, [0.5, 99.5])
    deepest = max((d for d in depths if math.isfinite(d)), default=0.0)
    low = min(low, 1.0 - deepest)
    pad = 0.05 * (high - low) or 1e-4
    return float(low - pad), float(high + pad)
