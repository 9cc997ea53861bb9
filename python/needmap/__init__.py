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

import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Union

import numpy as np
import pandas as pd

from . import _core
from ._core import NeedmapError

if TYPE_CHECKING:  # pragma: no cover
    import numpy.typing as npt

__all__ = ["NeedmapError", "Analysis", "Result", "cluster", "run", "read", "__version__"]
__version__: str = _core.__version__

PathLike = Union[str, "os.PathLike[str]"]
#: ``progress``: ``None`` = a tqdm bar when tqdm is installed (shown only for work over half
#: a second), ``False`` = none, or a callable ``f(stage, done, total)`` called at most ten
#: times a second.
ProgressArg = Union[None, bool, Callable[[str, int, int], Any]]


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


def read(path: PathLike, *, progress: ProgressArg = None, **import_options: Any) -> Dict[str, Any]:
    """The import report of a survey file without running anything (``needmap inspect --json``).

    Args:
        path: CSV/TSV, XLSX or GeoJSON file of households.
        import_options: ``lat_column``, ``lon_column``, ``id_column``, ``sheet``,
            ``accuracy_cutoff_m`` (as the CLI's ``--lat-column`` etc.).

    Returns:
        dict: format, coordinates, id column, counts, columns (name, kind, role), notes,
        every rejected and flagged row (``rejects``, ``flags``: row, line, column, message).
    """
    text = _call(_core.read, progress, path=os.fspath(path), **import_options)
    return json.loads(text)


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
    source: Union[PathLike, pd.DataFrame],
    analysis: Union[None, PathLike, Mapping[str, Any]] = None,
    *,
    progress: ProgressArg = None,
    **settings: Any,
) -> Result:
    """Runs the whole pipeline (``needmap run`` without writing files).

    Args:
        source: a CSV/TSV, XLSX or GeoJSON file, or a pandas DataFrame with coordinate
            columns (detected by name as in a file, or named with ``lat_column``/``lon_column``).
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
    analysis_path = analysis_json = None
    if isinstance(analysis, Mapping):
        analysis_json = json.dumps(dict(analysis))
    elif analysis is not None:
        analysis_path = os.fspath(analysis)
    if "indicators" in settings and isinstance(settings["indicators"], str):
        settings["indicators"] = [settings["indicators"]]

    frame: Optional[pd.DataFrame] = None
    tmp: Optional[str] = None
    if isinstance(source, pd.DataFrame):
        # This round a DataFrame goes through a temporary CSV (exact: floats are written
        # with round-trip precision), so detection and checks are those of a file.
        frame = source
        fd, tmp = tempfile.mkstemp(prefix="needmap-", suffix=".csv")
        os.close(fd)
        source.to_csv(tmp, index=False)
        path = tmp
    else:
        path = os.fspath(source)
    try:
        out = _call(
            _core.run, progress, path=path, analysis_path=analysis_path, analysis_json=analysis_json, **settings
        )
    except NeedmapError as e:
        if tmp is None:
            raise
        # Name the DataFrame, not the temporary file (its line N is the DataFrame's row N - 2).
        raise NeedmapError(str(e).replace(tmp, "<DataFrame>")) from None
    finally:
        if tmp is not None:
            os.unlink(tmp)

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
    if frame is not None:
        report["import"]["path"] = "<DataFrame>"
    resolved = Analysis(json.loads(out["analysis_json"]))
    if frame is not None:
        resolved.get("input", {}).pop("path", None)
    return Result(households=households, zones=_zones_frame(out["zones_json"]), report=report, analysis=resolved)
