"""The candidate table's columns in one dictionary: name -> (unit, meaning).

``docs/candidates.md`` is written from it (``python -m transitflow columns``), and tests keep
both equal to the columns the pipeline writes.
"""

from __future__ import annotations

#: Every column of ``candidates.csv``: name -> (unit, meaning); "" for no unit.
CANDIDATE_COLUMNS: dict[str, tuple[str, str]] = {
    "key": ("",
            "The candidate's leading signal (its strongest periodic one, else its strongest): "
            "`<tic>-s<sector>-<index>`, index 0 being the "
            "light curve's strongest signal; sector 9999 is the light curve joining all the "
            "star's sectors (config `stitch_sectors`)"),
    "keys": ("",
            "All signals merged into this row (the same star and period in other sectors, "
            "and, judged alike, a sector's single event on the leading signal's transits or "
            "a signal at twice its period through them), "
            "`;`-separated"),
    "id": ("", "The star's name in its mission's catalogue: `TIC 25155310`, `EPIC 206103150`, "
               "`KIC 8462852`"),
    "tic": ("", "Star identifier: TIC ID (EPIC ID for K2, KIC ID for Kepler light curves)"),
    "mission": ("",
                "The mission whose ID `tic` is (`TESS`: TIC; `K2`: EPIC; `Kepler`: KIC), from the "
                "light curve's header (MISSION; without it a Kepler-telescope file is `Kepler` "
                "when it names a QUARTER, else `K2`); `TESS` when unknown"),
    "split": ("",
            "The star's training split (`train`, `val`, `test`); empty when the run did not "
            "train or the star had no label"),
    "sectors": ("",
                "Sectors (K2 campaigns) holding the signal, comma-separated; for joined sectors "
                "those holding one of its transits"),
    "ra": ("deg",
            "Right ascension of the star (ICRS), from the light curve's header (RA_OBJ; drawn "
            "by the simulator for simulated stars); NaN when unknown"),
    "dec": ("deg",
            "Declination of the star (ICRS), from the light curve's header (DEC_OBJ; drawn by "
            "the simulator for simulated stars); NaN when unknown"),
    "kind": ("", "`periodic` (two or more transits linked by a period) or `single` (one transit)"),
    "method": ("", "The search that found it: `bls`, `tls` or `single_event`"),
    "score": ("",
            "The network's calibrated planet probability for the light curve (best over merged "
            "sectors); NaN when not scored"),
    "flagged": ("bool", "Whether the light curve went on to the in-depth search"),
    "detected_by": ("",
            "What sent the light curve to the in-depth search: `network`, `periodic`, `single`, "
            "`edge` (a dip reaching into the edges of the data, which the others leave out), "
            "`sectors` (a light curve joining a star's sectors, one of them raised), joined by "
            "`+`"),
    "model_id": ("", "The network that scored the light curve"),
    "period": ("d", "Orbital period; NaN for a single transit"),
    "period_err": ("d",
            "1-sigma period error from the SNR and the transits' times (Carter et al. 2008, "
            "central transit); NaN below two transits"),
    "period_ambiguous": ("bool",
            "Periodic signal with two transits in all: the period may be their separation over "
            "any whole number whose other transits fall in gaps (said in reasons)"),
    "epoch": ("BTJD", "Mid-time of the first transit with data, BJD_TDB - 2457000"),
    "epoch_bjd": ("BJD_TDB", "The same mid-time as a full barycentric Julian date"),
    "epoch_err": ("d",
            "1-sigma error of the first transit's mid-time (Carter et al. 2008, central transit)"),
    "duration_h": ("h",
            "Transit duration (first to fourth contact, as the box search measures it)"),
    "duration_err_h": ("h", "1-sigma duration error (Carter et al. 2008, central transit)"),
    "depth_ppm": ("ppm", "Transit depth from the box fit to the detrended light curve"),
    "depth_err_ppm": ("ppm", "1-sigma depth error"),
    "snr": ("", "Signal-to-noise ratio of the transits together, as the search measured it"),
    "sde": ("", "Signal detection efficiency of the periodogram peak; NaN for a single transit"),
    "n_transits": ("",
                   "Transits with data, summed over merged sectors (the joined sectors' count "
                   "when larger)"),
    "radius_earth": ("R_earth",
            "Planet radius R* sqrt(depth / (1 - contamination)); no dilution correction for "
            "PDCSAP flux, already corrected for crowding; NaN when the star's radius is unknown"),
    "star_radius": ("R_sun", "Stellar radius from the light curve's header or the TIC"),
    "tmag": ("mag", "TESS magnitude of the star"),
    # vetting: every registered test T gives T_metric, T_sigma, T_flag, T_reason and extras
    "odd_even_metric": ("",
            "|odd - even| depth difference from a shared-parabola fit of in-transit flux (or of "
            "their summed deficits, where the parities sample different phases or the transit's "
            "central half is shorter than a cadence), over the mean of odd and even depths"),
    "odd_even_sigma": ("sigma",
            "|odd - even| depth difference over its error (white noise x red-noise beta, "
            "inflated by per-transit excess scatter; with vet.odd_even_systematic, default 0.5%, "
            "of the mean depth in quadrature)"),
    "odd_even_flag": ("bool",
            "True when odd/even difference sigma exceeds modshift FA1 threshold and neither "
            "parity is empty (period not simply doubled)"),
    "odd_even_reason": ("",
            "Text explanation of the odd/even result: both depths in ppm, their difference, "
            "sigma and FA1 (or why skipped)"),
    "odd_even_odd_depth": ("fraction",
            "Mean depth (1 - detrended flux rel. median) of odd-cycle transits (cycles +-1, "
            "+-3...) over the central 50% of the duration; where odd and even transits sample "
            "different phases or that central window is shorter than a cadence (the reason "
            "says 'summed deficits'), their mean summed deficit as the depth of a box of the "
            "duration"),
    "odd_even_even_depth": ("fraction",
            "Mean depth (1 - detrended flux rel. median) of even-cycle transits (0, +-2...) over"
            " the central 50% of the duration; or, as for the odd depth, their mean summed "
            "deficit"),
    "odd_even_odd_depth_err": ("fraction",
            "Error of the odd depth: white scatter x red-noise beta / sqrt(N cadences), times "
            "the per-transit excess-scatter factor"),
    "odd_even_even_depth_err": ("fraction",
            "Error of the even depth: white scatter x red-noise beta / sqrt(N cadences), times "
            "the per-transit excess-scatter factor"),
    "secondary_metric": ("fraction",
            "Modshift box depth of the strongest dip >2 durations from the primary (flank mean "
            "minus box mean); same as secondary_depth"),
    "secondary_sigma": ("sigma",
            "Secondary significance over red noise: sigma_sec / max(Fred, 1)"),
    "secondary_flag": ("bool",
            "True when secondary_sigma - FA1 > margin and it beats tertiary and positive events "
            "by FA2, unless P/2 alias, planet occultation or no recurring eclipse (only data "
            "edges or gaps, or one orbit alone, hold it)"),
    "secondary_reason": ("",
            "Text explanation of the secondary search: phase, depth in ppm, red-noise sigma vs "
            "FA1, and the verdict (or why skipped)"),
    "secondary_phase": ("phase",
            "Orbital phase (0-1, primary at 0) of the modshift secondary's phase bin"),
    "secondary_depth": ("fraction",
            "Modshift box depth of the secondary: mean flux of half-duration flanks minus the "
            "one-duration box mean"),
    "secondary_sigma_pri": ("sigma",
            "Modshift primary box depth over white noise (robust per-cadence scatter away from "
            "primary and secondary)"),
    "secondary_sigma_sec": ("sigma",
            "Modshift secondary box depth over white noise (0 if no secondary found)"),
    "secondary_sigma_ter": ("sigma",
            "Modshift tertiary (next-deepest dip >2 durations from primary and secondary) depth "
            "over white noise; 0 if none"),
    "secondary_sigma_pos": ("sigma",
            "Significance of the strongest brightening >3 durations from primary and secondary, "
            "over white noise (positive number)"),
    "secondary_fred": ("",
            "Modshift red-noise ratio Fred: std of the box significance curve over phases >2 "
            "durations from primary and secondary"),
    "secondary_fa1": ("sigma",
            "Modshift false-alarm threshold FA1 = sqrt(2) erfcinv(duration / (period x 20000 "
            "trials))"),
    "secondary_fa2": ("sigma",
            "Modshift false-alarm threshold FA2 = sqrt(2) erfcinv(duration / period)"),
    "secondary_albedo": ("",
            "Geometric albedo if the secondary were the planet's occultation: depth_sec (a/R*)^2"
            " / depth_pri (NaN if primary depth <= 0)"),
    "uniqueness_metric": ("sigma",
            "Least modshift uniqueness margin over its threshold (negative: not transit-like)"),
    "uniqueness_sigma": ("sigma", "MS1: modshift primary over red noise, minus FA1"),
    "uniqueness_flag": ("bool",
            "True when MS1 < -1, MS2 < -2 or MS3 < -4 (Robovetter DR25 margins): a dip the "
            "folded noise repeats"),
    "uniqueness_reason": ("", "Text explanation of the uniqueness test: failing margins, "
            "primary, tertiary and brightening significances (or why skipped)"),
    "uniqueness_ms1": ("sigma", "sigma_pri / max(Fred, 1) - FA1 (NaN for a single transit or without a primary)"),
    "uniqueness_ms2": ("sigma",
            "sigma_pri - sigma_ter - FA2 (NaN without a tertiary event)"),
    "uniqueness_ms3": ("sigma",
            "sigma_pri - sigma_pos - FA2 (NaN without a brightening event)"),
    "centroid_metric": ("px",
            "In-transit minus local out-of-transit flux-weighted centroid shift, sqrt(dcol^2 + "
            "drow^2)"),
    "centroid_sigma": ("sigma",
            "Centroid-shift significance: quadrature sum of column and row shift significances "
            "(sqrt of 2-dof chi-square)"),
    "centroid_flag": ("bool",
            "True when centroid_sigma > 3.03 and implied source offset >= max(0.2 px, "
            "contamination x 2 px)"),
    "centroid_reason": ("",
            "Text explanation of the centroid test: shift, its sigma, and implied source offset "
            "in px and arcsec (or why skipped)"),
    "centroid_dcol": ("px",
            "In-transit minus out-of-transit column centroid (per-transit local linear baseline,"
            " separate level between momentum dumps)"),
    "centroid_drow": ("px",
            "In-transit minus out-of-transit row centroid (per-transit local linear baseline, "
            "separate level between momentum dumps)"),
    "centroid_offset_px": ("px",
            "Implied distance of the eclipsed source from the out-of-transit centroid: shift x "
            "(1/depth - 1), depth from raw flux"),
    "centroid_offset_err_px": ("px",
            "Error of the implied source offset: (shift / centroid_sigma) x (1/depth - 1); depth"
            " error ignored"),
    "centroid_offset_arcsec": ("arcsec",
            "centroid_offset_px times the mission pixel scale (TESS 21\"/px, Kepler/K2 3.98\"/px)"),
    "background_metric": ("",
            "In-transit background excess divided by the in-transit raw-flux deficit (fraction "
            "of the dip the background explains)"),
    "background_sigma": ("sigma",
            "Significance of the in-transit background excess: its error from per-transit "
            "local fits, at least the excess's RMS at null epochs"),
    "background_flag": ("bool",
            "True when background excess > 3 sigma and explains >= 50% of the flux deficit"),
    "background_reason": ("",
            "Text explanation of the background test: excess sigma and fraction of the flux "
            "deficit (or why skipped)"),
    "background_excess": ("e-/s",
            "In-transit minus local out-of-transit background level, in raw flux units (e-/s for"
            " SPOC SAP_BKG)"),
    "background_correlation": ("",
            "Pearson correlation of raw flux with background over cadences within 2 durations of"
            " mid-transit (not used in the flag)"),
    "shape_metric": ("",
            "Trapezoid-fit ingress duration over total duration (bounded 0.01-0.5; 0.5 = "
            "V-shaped)"),
    "shape_sigma": ("sigma", "Always NaN: the shape test reports no significance"),
    "shape_flag": ("bool",
            "True when V-shaped (ratio > 0.45 and a flat-bottom fit is worse by chi2 >= 9) or "
            "duration > 2x longest central transit"),
    "shape_reason": ("",
            "Text explanation of the shape test: ingress/duration ratio and duration vs the "
            "longest transit for this star"),
    "shape_depth": ("fraction",
            "Flat-bottom depth of the trapezoid fitted to the binned, folded detrended light "
            "curve"),
    "shape_total": ("d", "Total (first-to-fourth contact) duration of the fitted trapezoid"),
    "shape_ingress": ("d", "Ingress (first-to-second contact) duration of the fitted trapezoid"),
    "shape_duration_ratio": ("",
            "Trapezoid total duration over the central (b=0) circular-orbit duration for the "
            "star's density; NaN without R* and M*/logg"),
    "harmonics_metric": ("",
            "Flux variance removed by the best sinusoid (period P or P/2) over that removed by "
            "the box transit"),
    "harmonics_sigma": ("sigma",
            "Best sinusoid's semi-amplitude over its error (residual scatter x sqrt(2/N))"),
    "harmonics_flag": ("bool",
            "True when the sinusoid removes more variance than the transit and its peak-to-peak "
            "(2x amplitude) >= the box depth"),
    "harmonics_reason": ("",
            "Text explanation: sinusoid period (xP), amplitude and transit depth in ppm, and the"
            " variance ratio"),
    "harmonics_period": ("d", "Period of the best-fitting sinusoid: the signal period P or P/2"),
    "harmonics_amplitude": ("fraction",
            "Semi-amplitude of the best-fitting sinusoid in detrended relative flux"),
    "systematics_metric": ("",
            "Fraction of transit events that are suspect: at a momentum dump, gapped, or within "
            "one duration of a data edge"),
    "systematics_sigma": ("sigma", "Always NaN: the systematics test reports no significance"),
    "systematics_flag": ("bool", "True when more than 50% of transit events are suspect, the "
                         "events apart from crowded epochs fall below the SNR floor, or the "
                         "depth is 100% of the flux or more"),
    "systematics_reason": ("",
            "Text explanation: number of suspect events out of all, split into dumps, gapped and"
            " edges; events at crowded epochs and the SNR of the others; a depth of the whole"
            " flux or more"),
    "systematics_events": ("",
            "Number of transit events with at least one in-transit detrended cadence"),
    "systematics_dumps": ("",
            "Events whose coverage falls below 50% only once cadences near momentum dumps are "
            "dropped (or all dump events if dumps dominate)"),
    "systematics_gaps": ("",
            "Events with under 50% of their expected in-transit cadences observed"),
    "systematics_edges": ("",
            "Events within one duration of a data edge (sector start/end or either side of a gap"
            " > 0.5 d)"),
    "systematics_crowded": ("",
            "Events at epochs crowded with other stars' events (Skye: three-hour bins holding "
            "more stars' events than chance allows at 1e-3 per bin, and more than twice the "
            "typical count); SYSTEMATIC when the other events fall below the SNR threshold"),
    "consistency_metric": ("",
            "Reduced chi-square of the individual transit depths about their weighted mean "
            "(errors: red noise, and 25% of the depth in quadrature)"),
    "consistency_sigma": ("sigma",
            "One-sided Gaussian equivalent of that chi-square's chance under one depth (0 when "
            "the chance exceeds one half)"),
    "consistency_flag": ("bool",
            "True when that chance is below 0.001: one event dominating or depths that come and "
            "go (Robovetter DR25 individual-event checks, LEO-vetter CHI)"),
    "consistency_reason": ("",
            "Text explanation of the consistency test: transits compared, depth range, "
            "chi-square and the strongest event's share (or why skipped)"),
    "consistency_n_events": ("",
            "Transits with a baseline either side whose depths were compared"),
    "consistency_chi2": ("", "Chi-square of their depths on n_events - 1 degrees of freedom"),
    "consistency_max_share": ("",
            "The strongest single event's SNR over the combined SNR (1/sqrt(n) for n equal "
            "transits, sqrt(n) for all the depth in one; NaN without a dip)"),
    "chases_metric": ("",
            "Median over transits of the distance to the nearest one-duration dip with 70% of "
            "the transit's SNR, 1.5 durations to P/10 away, over P/10 (1: none); signals of at "
            "most 5 transits"),
    "chases_sigma": ("sigma", "Always NaN: the chases test reports no significance"),
    "chases_flag": ("bool",
            "True when chases_metric < 0.5: dips as strong lie near the transits"),
    "chases_reason": ("",
            "Text explanation of the chases test: the median and the transits checked (or why "
            "skipped)"),
    "chases_transits": ("", "Transits with a dip that were compared with their neighbourhood"),
    "radius_metric": ("R_earth", "The signal's planet radius (radius_earth), as vetting judged it"),
    "radius_sigma": ("sigma",
            "How far the radius is above 25 R_earth in units of its 10% stellar-radius error: "
            "(Rp - 25) / (0.1 Rp); negative below"),
    "radius_flag": ("bool",
            "True when planet radius > 25 R_earth and more than 2 radius errors above it"),
    "radius_reason": ("",
            "Text explanation: planet radius +- error and whether it exceeds the 25 R_earth "
            "limit (or stellar radius unknown)"),
    "snr_metric": ("",
            "Transit SNR: mean in-transit depth over (white scatter x red-noise beta / sqrt(N "
            "in-transit cadences))"),
    "snr_sigma": ("sigma", "Same value as snr_metric (the red-noise SNR)"),
    "snr_flag": ("bool",
            "True when SNR < 7.1 or fewer than min_transits (1) transits have data; also True "
            "when the SNR cannot be computed"),
    "snr_reason": ("",
            "Text explanation: SNR and number of transits (single transit noted), or 'no "
            "in-transit cadences with data'"),
    "snr_white": ("", "Transit SNR with white noise only (snr_metric x beta)"),
    "snr_beta": ("",
            "Red-noise factor beta >= 1 (Pont 2006): robust scatter of duration-binned means "
            "over white expectation, away from transits"),
    "snr_transits": ("",
            "Number of transit events with at least one in-transit detrended cadence"),
    "snr_search": ("",
            "The SNR the transit search reported for this signal (copied from the signal)"),
    "disposition": ("",
            "PC (planet candidate), EB (eclipsing binary on target), BEB (background or blended "
            "binary), SYSTEMATIC or LOW_SNR"),
    "vetting_disposition": ("",
            "The disposition vetting gave the leading signal, which its sheet shows; "
            "`disposition` differs where a catalogued binary's eclipse (`known_eb`) or "
            "`report.pc_max_radius_rjup` moved it"),
    "reasons": ("",
            "Why: the flagged tests' reasons and notes on how the signal was raised, "
            "`;`-separated"),
    "toi": ("", "The matching TOI's number; NaN when none matches"),
    "toi_disposition": ("", "That TOI's TFOPWG (else TESS) disposition"),
    "toi_match": ("",
            "`known planet` (CP, KP), `known FP` (FP, FA, EB, V, IS, O), `known candidate` (PC, "
            "APC) or `new`; empty without a TOI table"),
    "toi_matched_by": ("",
            "`TIC` (same star, period or ephemeris agree) or `position` (a TOI within 21 arcsec "
            "whose period or ephemeris agrees); empty when none"),
    "known_eb": ("",
            "The TESS EB catalog binary (Prsa et al. 2022, config `known_ebs`) whose primary or "
            "secondary eclipses this signal's events fall on (same TIC; its period, half or "
            "double, or any period for a single event), with the eclipse. A PC, SYSTEMATIC or "
            "LOW_SNR signal on the secondary eclipse (not at half the binary's period, not a "
            "known planet) is called EB. Empty when none or without the catalog"),
}


def undocumented(columns) -> list[str]:
    """The names in ``columns`` that :data:`CANDIDATE_COLUMNS` does not describe."""
    return [name for name in columns if name not in CANDIDATE_COLUMNS]


def columns_markdown() -> str:
    """``docs/candidates.md``: the dictionary as a Markdown table."""
    rows = "".join(f"| `{name}` | {unit} | {_escaped(meaning)} |\n"
                   for name, (unit, meaning) in CANDIDATE_COLUMNS.items())
    return ("# Candidate table columns\n\n"
            "Every column of `candidates.csv` and `candidates.parquet`, in order. Generated by\n"
            "`python -m transitflow columns > docs/candidates.md` from\n"
            "`src/transitflow/columns.py`; a test keeps the two equal.\n\n"
            f"| column | unit | meaning |\n|---|---|---|\n{rows}")


def _escaped(text: str) -> str:
    """Text for a Markdown table cell."""
    return text.replace("|", r"\|")
