"""needmap from Python: find, rank and map critical-need zones in household survey data.

The same Rust core as the ``needmap`` command line, with numpy arrays and pandas
DataFrames in and out::

    import needmap
    labels = needmap.cluster(df["lat"], df["lon"], eps_m=150, min_points=10)
    result = needmap.run("households.csv", top_percent=30)
    result.zones.head()

Clustering uses exact great-circle distances on the WGS84 coordinates. The GIL is released
while the core works; Ctrl-C (KeyboardInterrupt) cancels it. Bad input raises
:class:`NeedmapError` with the CLI's message (file, line, column and what to do).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Union

import numpy as np
import pandas as pd

from . import _core
from ._core import NeedmapError

if TYPE_CHECKING:  # pragma: no cover
    import numpy.typing as npt

__all__ = [
    "NeedmapError",
    "Analysis",
    "Result",
    "SitesResult",
    "HotspotsResult",
    "AuditResult",
    "cluster",
    "run",
    "read",
    "sites",
    "hotspots",
    "audit",
    "__version__",
]
__version__: str = _core.__version__

PathLike = Union[str, "os.PathLike[str]"]
#: ``progress``: ``None`` = a tqdm bar when tqdm is installed (shown only for work over half
#: a second), ``False`` = none, or a callable ``f(stage, done, total)`` called at most ten
#: times a second.
ProgressArg = Union[None, bool, Callable[[str, int, int], Any]]
#: A survey: a file path (CSV/TSV, XLSX, GeoJSON, (Geo)Parquet), a pandas DataFrame (a
#: GeoDataFrame of points too), or any Arrow table or stream (an object with
#: ``__arrow_c_stream__``: a pyarrow Table, a polars DataFrame, a DuckDB result...).
SourceArg = Union[PathLike, pd.DataFrame, Any]


class _Bar:
    """The core's progress, as a tqdm bar per stage (``stage`` keys: import, cluster…)."""

    def __init__(self) -> None:
        from tqdm.auto import tqdm

        self._tqdm = tqdm
        self._bar: Any = None
        self._stage: Optional[str] = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self._stage or self._bar is None:
            self.close()
            self._stage = stage
            self._bar = self._tqdm(total=total or None, desc=f"needmap: {stage}", delay=0.5, leave=False)
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _progress(progress: ProgressArg) -> tuple:
    """(callback for the core, bar to close or None)."""
    if progress is False:
        return None, None
    if callable(progress):
        return progress, None
    try:
        bar = _Bar()
    except ImportError:
        return None, None
    return bar, bar


def _call(fn: Callable[..., Any], progress: ProgressArg, **kwargs: Any) -> Any:
    cb, bar = _progress(progress)
    try:
        return fn(progress=cb, **kwargs)
    finally:
        if bar is not None:
            bar.close()


def _coords(values: Any, name: str) -> "np.ndarray":
    a = np.ascontiguousarray(np.asarray(values, dtype=np.float64))
    if a.ndim != 1:
        raise NeedmapError(f"{name} must be one-dimensional (one value per household), not of shape {a.shape}")
    return a


def cluster(
    lat: "npt.ArrayLike",
    lon: "npt.ArrayLike",
    method: str = "dbscan",
    eps_m: Optional[float] = None,
    min_points: Optional[int] = None,
    k: int = 20,
    seed: int = 1,
    min_cluster_size: int = 10,
    min_samples: Optional[int] = None,
    threads: Optional[int] = None,
    *,
    restarts: Optional[int] = None,
    progress: ProgressArg = None,
) -> "np.ndarray":
    """Clusters households by location: one label per household, ``-1`` for noise.

    The same labels as ``needmap cluster`` with the same settings, on great-circle distances
    in metres (no projection needed).

    Args:
        lat, lon: latitudes and longitudes in degrees (WGS84), one per household. float64
            contiguous arrays are used without a copy.
        method: ``"dbscan"``, ``"hdbscan"`` or ``"kmeans"``.
        eps_m: DBSCAN radius in metres (default: suggested from the k-distance knee).
        min_points: DBSCAN households within ``eps_m``, itself included, that make a
            household core (default: suggested from the number of households).
        k: k-means number of clusters.
        seed: k-means random seed (same seed, same clusters).
        min_cluster_size: HDBSCAN smallest cluster.
        min_samples: HDBSCAN neighbours for the core distance (default ``min_cluster_size``).
        threads: worker threads (default all cores); results do not depend on it.
        restarts: k-means++ runs on a sample to start from (default 64; 1 = one run on all).
        progress: see :data:`ProgressArg`.

    Returns:
        ``numpy.ndarray`` of int64, clusters numbered from 0.

    Raises:
        NeedmapError: a coordinate out of range or missing (naming its index), bad settings.
        KeyboardInterrupt: Ctrl-C; the work stops at its next check.
    """
    la, lo = _coords(lat, "lat"), _coords(lon, "lon")
    labels, _info = _call(
        _core.cluster,
        progress,
        lat=la,
        lon=lo,
        method=method,
        eps_m=None if eps_m is None else float(eps_m),
        min_points=min_points,
        k=k,
        seed=seed,
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        restarts=restarts,
        threads=threads,
    )
    return labels


def read(source: SourceArg, *, progress: ProgressArg = None, **import_options: Any) -> Dict[str, Any]:
    """The import report of a survey without running anything (``needmap inspect --json``).

    Args:
        source: a CSV/TSV, XLSX, GeoJSON or (Geo)Parquet file of households, a pandas
            DataFrame or an Arrow table, as for :func:`run`.
        import_options: ``lat_column``, ``lon_column``, ``id_column``, ``sheet``,
            ``accuracy_cutoff_m`` (as the CLI's ``--lat-column`` etc.).

    Returns:
        dict: format, coordinates, id column, counts, columns (name, kind, role), notes,
        every rejected and flagged row (``rejects``, ``flags``: row, line, column, message).
        For a DataFrame ``path`` is ``"<DataFrame>"`` and rows are ``df.iloc[row - 1]``.

    Raises:
        NeedmapError: the CLI's message for unreadable input (no usable coordinates...), naming
            the file or ``<DataFrame>``.
    """
    with _input(source) as (where, frame):
        report = json.loads(_call(_core.read, progress, **where, **import_options))
    if frame is not None:
        report["path"] = "<DataFrame>"
    return report


class Analysis(dict):
    """Every setting of a run (what ``analysis.toml`` stores), as a dict.

    ``to_toml()`` gives the text ``needmap run`` writes; ``save(path)`` writes it, and
    ``needmap run INPUT --analysis PATH`` (or ``needmap.run(INPUT, analysis=PATH)``)
    reproduces the run.
    """

    def to_toml(self) -> str:
        """The analysis as ``analysis.toml`` text."""
        return _core.analysis_to_toml(json.dumps(self))

    def save(self, path: PathLike) -> None:
        """Writes :meth:`to_toml` to ``path``."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_toml())


@dataclass
class Result:
    """What :func:`run` found.

    Attributes:
        households: one row per accepted household: the input columns, then ``need`` (score
            0 to 1, NaN when it has none), ``critical`` (bool), ``cluster`` (nullable int,
            -1 noise, NA when not clustered) and ``zone`` (nullable int, the zone id it lies
            in, NA outside every zone). ``row`` (the record number in the input) is the index.
        zones: one row per zone in rank order, the columns of ``zones.csv`` and a
            ``geometry``: a GeoDataFrame (EPSG:4326) when geopandas is installed, else WKT text.
        report: the run report, as ``report.json``.
        analysis: the resolved settings (automatic choices written out), see :class:`Analysis`.
    """

    households: pd.DataFrame
    zones: pd.DataFrame
    report: Dict[str, Any]
    analysis: Analysis = field(default_factory=Analysis)

    def __repr__(self) -> str:
        return (
            f"<needmap.Result: {len(self.households)} households, "
            f"{int(self.households['critical'].sum())} critical, {len(self.zones)} zones>"
        )


# zones.csv's columns in its order (src/export/csv.rs), then the outline; needmap.spark uses it too.
_ZONE_COLUMNS = [
    "rank",
    "zone",
    "households",
    "people",
    "critical_households",
    "critical_share",
    "mean_need",
    "total_need",
    "area_m2",
    "density_per_km2",
    "members",
    "centre_lat",
    "centre_lon",
    "geometry",
]


def _zones_frame(zones_json: str) -> pd.DataFrame:
    rows = json.loads(zones_json)
    df = pd.DataFrame(rows, columns=_ZONE_COLUMNS)
    df["people"] = df["people"].astype("float64")
    try:
        import geopandas as gpd
    except ImportError:
        return df
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries.from_wkt(df["geometry"]), crs="EPSG:4326")


def _nullable(values: "np.ndarray", missing: int) -> "pd.arrays.IntegerArray":
    return pd.arrays.IntegerArray(values, values == missing)


def run(
    source: SourceArg,
    analysis: Union[None, PathLike, Mapping[str, Any]] = None,
    *,
    progress: ProgressArg = None,
    **settings: Any,
) -> Result:
    """Runs the whole pipeline (``needmap run`` without writing files).

    Args:
        source: a CSV/TSV, XLSX, GeoJSON or (Geo)Parquet file, a pandas DataFrame with coordinate
            columns (detected by name as in a file, or named with ``lat_column``/``lon_column``),
            a GeoDataFrame of points (EPSG:4326), or any Arrow table or stream (an object with
            ``__arrow_c_stream__``: a pyarrow Table, a polars DataFrame, a DuckDB result...).
            Tables go to the core in memory; messages name them ``<DataFrame>`` and their
            records by row (``df.iloc[row - 1]``).
        analysis: settings from an ``analysis.toml`` path or a dict of the same shape (e.g. a
            previous ``Result.analysis``); ``settings`` override it.
        settings: the CLI's ``run`` flags with underscores: ``lat_column``, ``lon_column``,
            ``id_column``, ``sheet``, ``accuracy_cutoff_m``, ``indicators`` (list of
            ``"COLUMN[:higher|lower][:WEIGHT]"``), ``method``, ``eps_m``, ``min_points``,
            ``weight_by_people``, ``k``, ``seed``, ``restarts``, ``need_weighted``,
            ``min_cluster_size``, ``min_samples``, ``threads``, ``top_percent``, ``min_score``,
            ``all_households``.

    Returns:
        :class:`Result`.

    Raises:
        NeedmapError: the CLI's message for bad input or settings (file, line, column).
        KeyboardInterrupt: Ctrl-C; the work stops at its next check.
    """
    with _input(source) as (where, frame):
        out = _call(_core.run, progress, **where, **_analysis_args(analysis), **_settings(settings))
    in_memory = frame is not None or "stream" in where
    rows = out["row"]
    if frame is not None:
        households = frame.iloc[rows - 1].copy()
    else:
        households = pd.DataFrame({name: values for name, values in out["columns"]})
    households.index = pd.Index(rows, name="row")
    households["need"] = out["need"]
    households["critical"] = out["critical"]
    households["cluster"] = _nullable(out["cluster"], np.iinfo(np.int64).min)
    households["zone"] = _nullable(out["zone"], -1)
    report = json.loads(out["report_json"])
    if in_memory:
        report["import"]["path"] = "<DataFrame>"
    resolved = Analysis(json.loads(out["analysis_json"]))
    if in_memory:
        resolved.get("input", {}).pop("path", None)
    return Result(households=households, zones=_zones_frame(out["zones_json"]), report=report, analysis=resolved)


def _analysis_args(analysis: Union[None, PathLike, Mapping[str, Any]]) -> Dict[str, Optional[str]]:
    """``analysis`` as the core takes it: a path, or the settings as JSON."""
    if isinstance(analysis, Mapping):
        return {"analysis_path": None, "analysis_json": json.dumps(dict(analysis))}
    if analysis is not None:
        return {"analysis_path": os.fspath(analysis), "analysis_json": None}
    return {"analysis_path": None, "analysis_json": None}


def _settings(settings: Dict[str, Any]) -> Dict[str, Any]:
    if "indicators" in settings and isinstance(settings["indicators"], str):
        settings = {**settings, "indicators": [settings["indicators"]]}
    return settings


def _arrow_table(source: Any) -> Any:
    """What the core reads through the Arrow C stream interface (no temporary CSV): an Arrow
    table or stream as it is, a DataFrame as a pyarrow Table, a GeoDataFrame as its
    ``to_arrow`` table (the geometry as WKB, typed ``geoarrow.wkb``, which the core reads as
    points); or None: a path, no pyarrow, columns pyarrow cannot convert, a GeoDataFrame before
    geopandas 1.0 or with several geometry columns (the temporary CSV then, the geometry as
    WKT)."""
    if not isinstance(source, pd.DataFrame):
        # Any Arrow table or stream (pyarrow, polars, DuckDB...): the PyCapsule interface.
        return source if hasattr(source, "__arrow_c_stream__") else None
    try:
        import pyarrow as pa
    except ImportError:
        return None
    try:
        if any(c.__name__ == "GeoDataFrame" for c in type(source).__mro__):
            to_arrow = getattr(source, "to_arrow", None)  # geopandas >= 1.0
            # The core takes the first geometry column; the active one may be another.
            if to_arrow is None or sum(str(t) == "geometry" for t in source.dtypes) != 1:
                return None
            return pa.table(to_arrow(index=False, geometry_encoding="WKB"))
        return pa.Table.from_pandas(source, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None


@contextlib.contextmanager
def _input(source: SourceArg) -> Iterator[tuple]:
    """(the core's ``path`` and ``stream`` arguments, the DataFrame or None): the Arrow table
    of :func:`_arrow_table` in memory, named ``<DataFrame>``, when there is one; else the
    file, or the DataFrame through a temporary CSV (:func:`_source`)."""
    table = _arrow_table(source)
    if table is not None:
        yield {"path": "<DataFrame>", "stream": table}, (source if isinstance(source, pd.DataFrame) else None)
        return
    with _source(source) as (path, frame):
        yield {"path": path}, frame


@contextlib.contextmanager
def _source(source: Union[PathLike, pd.DataFrame]) -> Iterator[tuple]:
    """(path for the core, the DataFrame or None); errors name ``<DataFrame>``, not the
    temporary file a DataFrame goes through."""
    if not isinstance(source, pd.DataFrame):
        yield os.fspath(source), None
        return
    # Without Arrow (see _arrow_table) a DataFrame goes through a temporary CSV (exact:
    # floats are written with round-trip precision), so detection and checks are those of a
    # file.
    fd, tmp = tempfile.mkstemp(prefix="needmap-", suffix=".csv")
    os.close(fd)
    try:
        source.to_csv(tmp, index=False)
        try:
            yield tmp, source
        except NeedmapError as e:
            # Its line N is the DataFrame's row N - 2.
            raise NeedmapError(str(e).replace(tmp, "<DataFrame>")) from None
    finally:
        os.unlink(tmp)


def _table(text: str, text_columns: Sequence[str] = ()) -> pd.DataFrame:
    """A CSV the CLI writes, as a DataFrame: ``text_columns`` as text (ids keep their leading
    zeros), the others numbers with empty cells NaN."""
    header = next(iter(text.splitlines()), "").split(",")
    return pd.read_csv(
        io.StringIO(text),
        dtype={c: str for c in text_columns if c in header},
        keep_default_na=False,
        na_values={c: [""] for c in header if c not in text_columns},
    )


#: Text columns of the CLI's CSV files (read as text, never as numbers).
SITES_TEXT = ("candidate",)
HOTSPOTS_TEXT = ("id",)
GROUPS_TEXT = ("column", "group", "flag")


@dataclass
class SitesResult:
    """What :func:`sites` chose.

    Attributes:
        sites: one row per site in the order chosen, the columns of the CLI's sites file:
            ``site, candidate, lat, lon, covered_households, covered_weight, added_weight,
            cumulative_weight, cumulative_share`` (weights to six decimals, as printed).
        report: ``{"import": …, "sites": …}``: the import report and the sites part of
            ``report.json`` (covered share, proven upper bound, coverage curve, notes).
        settings: the ``[sites]`` settings used, automatic choices (grid spacing) written out.
    """

    sites: pd.DataFrame
    report: Dict[str, Any]
    settings: Dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        s = self.report.get("sites", {})
        return (
            f"<needmap.SitesResult: {len(self.sites)} sites cover {100 * s.get('covered_share', 0):.1f} % "
            f"(bound {100 * s.get('upper_bound_share', 0):.1f} %)>"
        )


@dataclass
class HotspotsResult:
    """What :func:`hotspots` found.

    Attributes:
        hotspots: one row per accepted household in input order, the columns of the CLI's
            file: ``row`` (record number in the input), ``id`` (text), ``z``, ``p`` (NaN when
            not tested), ``hot`` (1 hot spot, -1 cold spot, 0 neither), ``neighbours``, ``bin``.
        report: ``{"import": …, "hotspots": …}``: the import report and the hot-spots part
            of ``report.json`` (band and its rule, FDR, p cutoff, counts, notes).
        settings: the ``[hotspots]`` settings used.
    """

    hotspots: pd.DataFrame
    report: Dict[str, Any]
    settings: Dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        c = self.report.get("hotspots", {}).get("counts", {})
        return f"<needmap.HotspotsResult: {len(self.hotspots)} households, {c.get('hot')} hot, {c.get('cold')} cold>"


@dataclass
class AuditResult:
    """What :func:`audit` found: the three files of ``needmap audit``.

    Attributes:
        zones_stability: ``zones_stability.csv``: one row per zone in rank order
            (``zone, rank, p_top_k, rank_p05, rank_p95, p_top_1, rank_median, rank_fixed_members``).
        groups: ``groups.csv``: one row per group value (``column, group, households,
            share_all, share_critical, …, flag, …``; shares NaN where undefined).
        report: ``audit.json`` (settings, weight sensitivity, indicator influence, flags).
    """

    zones_stability: pd.DataFrame
    groups: pd.DataFrame
    report: Dict[str, Any]

    @property
    def flags(self) -> List[str]:
        """What the audit flags (``needmap audit`` prints them on stderr)."""
        return list(self.report.get("flags", []))

    def __repr__(self) -> str:
        return (
            f"<needmap.AuditResult: {len(self.zones_stability)} zones, {len(self.groups)} groups, "
            f"{len(self.flags)} flags>"
        )


def _import_report(report: Dict[str, Any], frame: Optional[pd.DataFrame]) -> Dict[str, Any]:
    if frame is not None and "import" in report:
        report["import"]["path"] = "<DataFrame>"
    return report


def sites(
    source: SourceArg,
    analysis: Union[None, PathLike, Mapping[str, Any]] = None,
    *,
    sites: Optional[int] = None,
    radius_m: Optional[float] = None,
    candidates: Optional[PathLike] = None,
    candidates_from: Optional[str] = None,
    grid_m: Optional[float] = None,
    existing: Optional[PathLike] = None,
    weight: Optional[str] = None,
    progress: ProgressArg = None,
    **settings: Any,
) -> SitesResult:
    """Chooses where to build (``needmap sites`` without writing the file): up to ``sites``
    sites among candidate locations so that the most weight lies within ``radius_m`` metres
    of one (maximal covering location; greedy, with a proven upper bound).

    Args:
        source: a survey file, a pandas DataFrame or an Arrow table, as for :func:`run`.
        analysis: an ``analysis.toml`` path or a dict (its ``[sites]`` section too); without
            one, ``sites`` and ``radius_m`` are required.
        sites: number of new sites (the CLI's ``--sites P``).
        radius_m: a site covers the households within this many metres (great-circle).
        candidates: a file of candidate locations (CSV/TSV, XLSX, GeoJSON).
        candidates_from: ``"grid"`` (default), ``"zones"`` (the zones' centres) or
            ``"households"``.
        grid_m: grid spacing in metres for ``"grid"`` (default half the radius).
        existing: a file of sites already open; what they cover counts as covered.
        weight: ``"need"`` (default), ``"critical"``, ``"households"``, ``"people"`` or a
            numeric column.
        settings: the import, need and clustering flags of :func:`run` (``lat_column``,
            ``indicators``, ``method``, ``eps_m``, …, ``threads``).

    Returns:
        :class:`SitesResult`.

    Raises:
        NeedmapError: the CLI's message for bad input or settings.
        KeyboardInterrupt: Ctrl-C; the work stops at its next check.
    """
    with _input(source) as (where, frame):
        out = _call(
            _core.sites,
            progress,
            **where,
            sites=sites,
            radius_m=None if radius_m is None else float(radius_m),
            candidates=None if candidates is None else os.fspath(candidates),
            candidates_from=candidates_from,
            grid_m=None if grid_m is None else float(grid_m),
            existing=None if existing is None else os.fspath(existing),
            weight=weight,
            **_analysis_args(analysis),
            **_settings(settings),
        )
    report = _import_report(json.loads(out["report_json"]), frame)
    return SitesResult(sites=_table(out["csv"], SITES_TEXT), report=report, settings=json.loads(out["params_json"]))


def hotspots(
    source: SourceArg,
    analysis: Union[None, PathLike, Mapping[str, Any]] = None,
    *,
    value: Optional[str] = None,
    band_m: Optional[float] = None,
    fdr: Optional[float] = None,
    progress: ProgressArg = None,
    **settings: Any,
) -> HotspotsResult:
    """Hot spots (``needmap hotspots`` without writing the file): Getis-Ord Gi* of a value
    over a great-circle distance band, with Benjamini-Hochberg false-discovery classes.

    Args:
        source: a survey file, a pandas DataFrame or an Arrow table, as for :func:`run`.
        analysis: an ``analysis.toml`` path or a dict (its ``[hotspots]`` section too).
        value: ``"need"`` (the need score, default) or a numeric column.
        band_m: distance band in metres (default: suggested, the smallest at which every
            household has 8 neighbours; the rule is in ``report["hotspots"]["band_rule"]``).
        fdr: false discovery rate q (default 0.05).
        settings: ``lat_column``, ``lon_column``, ``id_column``, ``sheet``,
            ``accuracy_cutoff_m``, ``indicators``, ``threads``.

    Returns:
        :class:`HotspotsResult`.

    Raises:
        NeedmapError: the CLI's message for bad input or settings.
        KeyboardInterrupt: Ctrl-C; the work stops at its next check.
    """
    with _input(source) as (where, frame):
        out = _call(
            _core.hotspots,
            progress,
            **where,
            value=value,
            band_m=None if band_m is None else float(band_m),
            fdr=None if fdr is None else float(fdr),
            **_analysis_args(analysis),
            **_settings(settings),
        )
    report = _import_report(json.loads(out["report_json"]), frame)
    return HotspotsResult(
        hotspots=_table(out["csv"], HOTSPOTS_TEXT), report=report, settings=json.loads(out["params_json"])
    )


def audit(
    source: SourceArg,
    analysis: Union[None, PathLike, Mapping[str, Any]] = None,
    *,
    group: Union[None, str, Sequence[str]] = None,
    draws: Optional[int] = None,
    seed: Optional[int] = None,
    top_k: Optional[int] = None,
    concentration: Optional[float] = None,
    progress: ProgressArg = None,
    **settings: Any,
) -> AuditResult:
    """Audits the ranking (``needmap audit`` without writing the files): how much the top
    zones hinge on the weights, how much each indicator drives the score, and which groups
    the critical households and the top zones leave out.

    Args:
        source: a survey file, a pandas DataFrame or an Arrow table, as for :func:`run`.
        analysis: an ``analysis.toml`` path or a dict (its ``[audit]`` section too).
        group: a column whose values form groups to check, or a list of them (the CLI's
            repeated ``--group``).
        draws: weight draws (default 200).
        seed: seed of the weight draws (default 1).
        top_k: K of "the top K zones" (default 10).
        concentration: Dirichlet concentration around the chosen weights (default 50).
        settings: ``lat_column``, ``lon_column``, ``id_column``, ``sheet``,
            ``accuracy_cutoff_m``, ``indicators``, ``threads``.

    Returns:
        :class:`AuditResult`.

    Raises:
        NeedmapError: the CLI's message for bad input or settings.
        KeyboardInterrupt: Ctrl-C; the work stops at its next check.
    """
    groups = [group] if isinstance(group, str) else (None if group is None else list(group))
    with _input(source) as (where, _frame):
        out = _call(
            _core.audit,
            progress,
            **where,
            group=groups,
            draws=draws,
            seed=seed,
            top_k=top_k,
            concentration=None if concentration is None else float(concentration),
            **_analysis_args(analysis),
            **_settings(settings),
        )
    return AuditResult(
        zones_stability=_table(out["zones_stability_csv"]),
        groups=_table(out["groups_csv"], GROUPS_TEXT),
        report=json.loads(out["audit_json"]),
    )
