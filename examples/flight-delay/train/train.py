#!/usr/bin/env python3
"""Train the flight-delay example model and export it to ONNX.

Pipeline: read flights-3m.parquet (pyarrow) -> compute the 9 features exactly as
sluice computes them at scoring time (8 from each row's own columns, plus
origin_delay_3h, which sluice's window step computes from the previous 3 hours of
flights) -> time split (hold out the last calendar month) ->
HistGradientBoostingClassifier -> skl2onnx -> evaluate with onnxruntime -> write
model, model card and check rows.

Run from anywhere:  python examples/flight-delay/train/train.py
Deterministic: fixed seeds, no early stopping (so no random validation split),
one OpenMP thread (also the fastest on a 2-core box); a second run writes
byte-identical outputs (checked also with 2 threads: same bytes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

# Pin the OpenMP thread count *before* sklearn/numpy load, so histogram/gradient
# reductions happen in the same order on every machine (bit-identical trees).
# On the project's 2-core machine 1 thread trains ~3x faster than 2 (oversubscription).
N_THREADS = 1
os.environ.setdefault("OMP_NUM_THREADS", str(N_THREADS))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pyarrow  # noqa: E402
import pyarrow.compute as pc  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import sklearn  # noqa: E402
import skl2onnx  # noqa: E402
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import FloatTensorType  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
DEFAULT_PARQUET = REPO / "node_modules" / "vega-datasets" / "data" / "flights-3m.parquet"
MODEL_DIR = REPO / "examples" / "flight-delay" / "model"

FEATURES = [
    "dep_hour",
    "dep_minute_of_day",
    "day_of_week",
    "month",
    "day_of_month",
    "distance",
    "origin_bucket",
    "dest_bucket",
    "origin_delay_3h",
]
FEATURE_DEFS = {
    "dep_hour": "hour of date in UTC (0-23) = floor((date_ms mod 86400000) / 3600000)",
    "dep_minute_of_day": "floor((date_ms mod 86400000) / 60000)  (0-1439)",
    "day_of_week": "0=Sunday..6=Saturday in UTC = (floor(date_ms / 86400000) + 4) mod 7",
    "month": "calendar month of date in UTC (1-12)",
    "day_of_month": "calendar day of month of date in UTC (1-31)",
    "distance": "distance column (miles) as float",
    "origin_bucket": "fnv1a32(origin UTF-8 bytes) mod 512",
    "dest_bucket": "fnv1a32(destination UTF-8 bytes) mod 512",
    "origin_delay_3h": "mean delay (float64) of the flights from the same origin with "
                       "E - 10800000 <= date_ms' < E, E = floor(date_ms / 3600000) * 3600000 "
                       "(the 3 whole hours before the flight's hour), over all rows of the file; "
                       "-999 when there are none. sluice: keyBy origin, window sliding 3h/1h, "
                       "avg delay, emit: enrich, then coalesce(..., -999)",
}
N_BUCKETS = 512
HOUR_MS = 3_600_000
DELAY_WINDOW_HOURS = 3
NO_HISTORY = -999.0  # origin_delay_3h when the origin had no flight in the window
LABEL_THRESHOLD = 15  # label = delay > 15 minutes

SEED = 0
TRAIN_SAMPLE_ROWS = 1_000_000  # subsample of the training period (see README)
N_CHECK_ROWS = 20
HGB_PARAMS = dict(
    loss="log_loss",
    learning_rate=0.1,
    max_iter=200,
    max_leaf_nodes=63,
    min_samples_leaf=100,
    l2_regularization=1.0,
    max_bins=255,
    early_stopping=False,
    random_state=SEED,
)
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}
MS_PER_DAY = 86_400_000


def fnv1a32(s: str) -> int:
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def date_to_epoch_ms(col: pyarrow.ChunkedArray) -> np.ndarray:
    """Timestamp column -> int64 epoch ms, treating the stored value as a UTC instant.

    The file stores timestamp[us] with isAdjustedToUTC=false (naive local wall-clock
    times). We deliberately do NOT apply any time zone: the stored number is taken
    as-is as a UTC instant, which is what sluice does when it reads the column.
    """
    typ = col.type
    if not pyarrow.types.is_timestamp(typ):
        raise TypeError(f"date column is {typ}, expected a timestamp")
    per_ms = {"s": None, "ms": 1, "us": 1_000, "ns": 1_000_000}[typ.unit]
    raw = col.cast(pyarrow.timestamp(typ.unit)).cast(pyarrow.int64()).to_numpy()
    if typ.unit == "s":
        return raw * 1000
    if np.any(raw % per_ms != 0):
        raise ValueError("date has sub-millisecond precision; ms conversion would truncate")
    return raw // per_ms


def compute_features(date_ms: np.ndarray, delay: np.ndarray, distance: np.ndarray,
                     origin: pyarrow.ChunkedArray, dest: pyarrow.ChunkedArray) -> np.ndarray:
    ms_of_day = np.mod(date_ms, MS_PER_DAY)  # floor mod, also right for pre-1970
    days = np.floor_divide(date_ms, MS_PER_DAY)
    dep_hour = ms_of_day // 3_600_000
    dep_minute = ms_of_day // 60_000
    dow = np.mod(days + 4, 7)  # 1970-01-01 was a Thursday (4)
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    month = m.astype(np.int64) % 12 + 1
    dom = (d - m.astype("datetime64[D]")).astype(np.int64) + 1

    def buckets(col: pyarrow.ChunkedArray) -> np.ndarray:
        enc = col.combine_chunks().dictionary_encode()
        table = np.array([fnv1a32(s) % N_BUCKETS for s in enc.dictionary.to_pylist()], dtype=np.int64)
        return table[enc.indices.to_numpy()]

    X = np.column_stack([
        dep_hour, dep_minute, dow, month, dom,
        distance.astype(np.int64), buckets(origin), buckets(dest),
    ]).astype(np.float64)
    # Every one of these is an integer well below 2^24, so float32 holds it exactly.
    assert np.array_equal(X.astype(np.float32).astype(np.float64), X)
    return np.column_stack([X, origin_delay_3h(date_ms, delay, origin)])


def origin_delay_3h(date_ms: np.ndarray, delay: np.ndarray, origin: pyarrow.ChunkedArray) -> np.ndarray:
    """Mean delay of the origin's flights in the 3 whole hours before each flight's hour.

    For a flight at t from o: E = floor(t / 1h) * 1h; the mean of delay over every row
    (train and hold-out alike: a stream sees them all, in order) from o with
    E - 3h <= t' < E, or -999 if there is none. That is the window [E - 3h, E) of a
    sliding 3h/1h window per origin, which sluice's `emit: enrich` reads for a record at t.
    Sums of integer delays are exact, so sum / count is the same float64 as sluice's avg.
    """
    codes = origin.combine_chunks().dictionary_encode().indices.to_numpy().astype(np.int64)
    hour = np.floor_divide(date_ms, HOUR_MS)
    h0 = int(hour.min()) - DELAY_WINDOW_HOURS
    n_hours = int(hour.max()) - h0 + 1
    cell = codes * n_hours + (hour - h0)
    size = (int(codes.max()) + 1) * n_hours
    sums = np.zeros(size, dtype=np.int64)
    np.add.at(sums, cell, delay.astype(np.int64))
    counts = np.bincount(cell, minlength=size).astype(np.int64)
    s = np.zeros(len(date_ms), dtype=np.int64)
    c = np.zeros(len(date_ms), dtype=np.int64)
    for back in range(1, DELAY_WINDOW_HOURS + 1):  # hours h-1, h-2, h-3 (never before h0)
        s += sums[cell - back]
        c += counts[cell - back]
    assert np.all(np.abs(s) < 2**53)
    out = np.full(len(date_ms), NO_HISTORY, dtype=np.float64)
    has = c > 0
    out[has] = s[has].astype(np.float64) / c[has].astype(np.float64)
    return out


def pick_cutoff(date_ms: np.ndarray) -> tuple[int, dict]:
    """Start (UTC) of the last calendar month that holds real data.

    The file's last 6 rows sit exactly on 2001-07-01T00:00 (flights scheduled at
    24:00 on June 30 rolled into the next day), so "last month present" would be a
    6-row July. We take the last month with >= 1% of all rows; anything from its
    first instant on (including those roll-over rows) is the hold-out.
    """
    months = date_ms.astype("datetime64[ms]").astype("datetime64[M]")
    uniq, counts = np.unique(months, return_counts=True)
    month_counts = {str(u): int(c) for u, c in zip(uniq, counts)}
    big = uniq[counts >= 0.01 * len(date_ms)]
    cutoff = int(big[-1].astype("datetime64[ms]").astype(np.int64))
    return cutoff, month_counts


def iso(ms: int) -> str:
    return str(np.datetime64(ms, "ms")) + "Z"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--parquet", type=Path, default=DEFAULT_PARQUET)
    ap.add_argument("--out", type=Path, default=MODEL_DIR)
    args = ap.parse_args()
    t0 = time.time()

    table = pq.read_table(args.parquet, columns=["date", "delay", "distance", "origin", "destination"])
    for c in table.column_names:
        if table[c].null_count:
            raise ValueError(f"column {c} has nulls")
    date_type = str(table.schema.field("date").type)
    date_ms = date_to_epoch_ms(table["date"])
    delay = table["delay"].to_numpy().astype(np.int64)
    distance = table["distance"].to_numpy().astype(np.int64)
    if np.any(np.diff(date_ms) < 0):
        raise ValueError("rows are not in date order; origin_delay_3h assumes the stream sees them in order")
    X = compute_features(date_ms, delay, distance, table["origin"], table["destination"])
    # The model sees float32 (as onnxruntime does); train on the same rounded values.
    X32 = X.astype(np.float32)
    y = (delay > LABEL_THRESHOLD).astype(np.int64)
    print(f"read {len(y):,} rows, date {date_type}, "
          f"{iso(int(date_ms.min()))} .. {iso(int(date_ms.max()))}, "
          f"positive rate {y.mean():.4f}  [{time.time() - t0:.1f}s]")

    cutoff, month_counts = pick_cutoff(date_ms)
    is_train = date_ms < cutoff
    train_idx = np.flatnonzero(is_train)
    hold_idx = np.flatnonzero(~is_train)
    print(f"cutoff {cutoff} ({iso(cutoff)}): train period {len(train_idx):,} rows, hold-out {len(hold_idx):,} rows")

    rng = np.random.default_rng(SEED)
    if len(train_idx) > TRAIN_SAMPLE_ROWS:
        fit_idx = np.sort(rng.choice(train_idx, size=TRAIN_SAMPLE_ROWS, replace=False))
    else:
        fit_idx = train_idx
    model = HistGradientBoostingClassifier(**HGB_PARAMS)
    t1 = time.time()
    with threadpool_limits(limits=N_THREADS, user_api="openmp"):
        model.fit(X32[fit_idx], y[fit_idx])
    train_s = time.time() - t1
    print(f"trained on {len(fit_idx):,} rows, {model.n_iter_} iterations in {train_s:.1f}s")

    onx = convert_sklearn(
        model,
        initial_types=[("features", FloatTensorType([None, len(FEATURES)]))],
        target_opset=TARGET_OPSET,
        options={id(model): {"zipmap": False}},
        name="flight_delay",
        doc_string="",
    )
    # Symbolic batch dimension "N" on the input and both outputs.
    for vi in list(onx.graph.input) + list(onx.graph.output):
        vi.type.tensor_type.shape.dim[0].ClearField("dim_value")
        vi.type.tensor_type.shape.dim[0].dim_param = "N"
    # skl2onnx lists the default domain twice in opset_import; keep one entry per domain.
    # (It also lowers ai.onnx.ml to the lowest version the ops need: TreeEnsembleClassifier-1.)
    opsets = {}
    for op in onx.opset_import:
        opsets[op.domain] = max(opsets.get(op.domain, 0), op.version)
    del onx.opset_import[:]
    for dom in sorted(opsets):
        onx.opset_import.add(domain=dom, version=opsets[dom])
    onx.doc_string = "Flight delay (>15 min) classifier for the sluice flight-delay example; see model-card.json"
    onnx.checker.check_model(onx)
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.out / "flight-delay.onnx"
    model_bytes = onx.SerializeToString()
    model_path.write_bytes(model_bytes)

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
    io = {"inputs": [(i.name, i.shape, i.type) for i in sess.get_inputs()],
          "outputs": [(o.name, o.shape, o.type) for o in sess.get_outputs()]}
    X_hold = X32[hold_idx]
    label_ort, proba_ort = sess.run(["label", "probabilities"], {"features": X_hold})
    p_ort = proba_ort[:, 1]
    p_skl = model.predict_proba(X_hold)[:, 1]
    max_diff = float(np.max(np.abs(p_ort.astype(np.float64) - p_skl)))
    auc = float(roc_auc_score(y[hold_idx], p_ort))
    auc_skl = float(roc_auc_score(y[hold_idx], p_skl))
    base_rate = float(y[hold_idx].mean())
    print(f"hold-out ROC AUC (onnxruntime) = {auc:.6f}   (sklearn {auc_skl:.6f}, max |p_ort - p_skl| = {max_diff:.2e})")

    # 20 deterministic check rows from ONE hold-out day (10 delayed, 10 not; 2 of them, one
    # of each, without any flight from their origin in the 3 hours before their hour, so the
    # -999 path is checked too). A test feeds sluice [from_ms, to_ms): that day and the
    # 3 hours before it, which is all that origin_delay_3h of the day's flights reads.
    days = np.unique(np.floor_divide(date_ms[hold_idx], MS_PER_DAY))
    days = days[days * MS_PER_DAY + MS_PER_DAY <= date_ms.max()]  # whole days only (not the 6 July rows)
    day = int(rng.choice(days))
    from_ms = day * MS_PER_DAY - DELAY_WINDOW_HOURS * HOUR_MS
    to_ms = (day + 1) * MS_PER_DAY
    in_day = np.flatnonzero((date_ms >= day * MS_PER_DAY) & (date_ms < to_ms))
    # Only rows that (date, origin, destination, distance) finds alone in the feed.
    feed = np.flatnonzero((date_ms >= from_ms) & (date_ms < to_ms))
    origin_all = table["origin"].combine_chunks().to_numpy(zero_copy_only=False)
    dest_all = table["destination"].combine_chunks().to_numpy(zero_copy_only=False)
    ident = [f"{date_ms[i]}|{origin_all[i]}|{dest_all[i]}|{distance[i]}" for i in feed]
    uniq, cnt = np.unique(ident, return_counts=True)
    unique_ids = set(uniq[cnt == 1].tolist())
    ok = np.array([f"{date_ms[i]}|{origin_all[i]}|{dest_all[i]}|{distance[i]}" in unique_ids for i in in_day])
    cand = in_day[ok]
    none = X[cand, FEATURES.index("origin_delay_3h")] == NO_HISTORY
    picks = []
    for label, n_hist in ((1, N_CHECK_ROWS // 2 - 1), (0, N_CHECK_ROWS - N_CHECK_ROWS // 2 - 1)):
        picks.append(rng.choice(cand[(y[cand] == label) & ~none], n_hist, replace=False))
        picks.append(rng.choice(cand[(y[cand] == label) & none], 1, replace=False))
    check_idx = np.sort(np.concatenate(picks))
    Xc = X32[check_idx]
    _, pc_ort = sess.run(["label", "probabilities"], {"features": Xc})
    rows = []
    for k, i in enumerate(check_idx):
        rows.append({
            "date_ms": int(date_ms[i]),
            "date_iso": iso(int(date_ms[i])),
            "delay": int(delay[i]),
            "distance": int(distance[i]),
            "origin": str(origin_all[i]),
            "destination": str(dest_all[i]),
            "label": int(y[i]),
            "features": {f: (float(v) if f in ("distance", "origin_delay_3h") else int(v)) for f, v in zip(FEATURES, X[i])},
            "features_vector": [float(v) for v in Xc[k]],
            "p_delayed": float(pc_ort[k, 1]),  # float32 value, printed as the exact double
        })
    check = {
        "description": f"{N_CHECK_ROWS} hold-out rows of one day: raw columns, the {len(FEATURES)} features "
                       "computed in Python (origin_delay_3h as float64, before the float32 cast; "
                       "features_vector is the float32 model input), and onnxruntime (Python) "
                       "probability of class 1 (delay > 15 min).",
        "model": "flight-delay.onnx",
        "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "feature_order": FEATURES,
        "feed": {
            "from_ms": from_ms,
            "from_iso": iso(from_ms),
            "to_ms": to_ms,
            "to_iso": iso(to_ms),
            "rows": int(len(feed)),
            "note": "feed sluice every flight with from_ms <= date_ms < to_ms, in file order: the check "
                    "rows' day and the 3 hours before it, all that their origin_delay_3h reads. Find a "
                    "check row in the output by (date, origin, destination, distance), unique in the feed.",
        },
        "p_delayed_tolerance": 1e-5,
        "rows": rows,
    }
    (args.out / "check-rows.json").write_text(json.dumps(check, indent=2) + "\n")
    n_none_hold = int(np.sum(X[hold_idx, FEATURES.index("origin_delay_3h")] == NO_HISTORY))
    print(f"check rows: {len(rows)} from {iso(day * MS_PER_DAY)[:10]}, feed {len(feed):,} rows "
          f"[{iso(from_ms)}, {iso(to_ms)}); origin_delay_3h = -999 for {n_none_hold:,} hold-out rows")

    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pyarrow": pyarrow.__version__,
        "scikit-learn": sklearn.__version__,
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
    }
    card = {
        "name": "flight-delay",
        "description": "Gradient-boosted trees predicting whether a US flight departs more than 15 minutes late.",
        "data": {
            "file": "node_modules/vega-datasets/data/flights-3m.parquet",
            "rows": int(len(y)),
            "date_column": {
                "parquet_type": "INT64 Timestamp(isAdjustedToUTC=false, timeUnit=microseconds)",
                "arrow_type": date_type,
                "note": "Stored values are naive local wall-clock times (no zone). They are converted to "
                        "epoch ms by dividing by 1000 and treated as UTC instants; no zone conversion.",
            },
            "date_range": {"min_ms": int(date_ms.min()), "min_iso": iso(int(date_ms.min())),
                           "max_ms": int(date_ms.max()), "max_iso": iso(int(date_ms.max()))},
            "rows_per_month": month_counts,
        },
        "label": {"name": "delayed", "definition": f"delay > {LABEL_THRESHOLD} (minutes)",
                  "positive_rate_all": float(y.mean())},
        "features": [{"index": k, "name": f, "definition": FEATURE_DEFS[f]} for k, f in enumerate(FEATURES)],
        "hash": {"name": "fnv1a32", "offset_basis": "0x811c9dc5", "prime": "0x01000193",
                 "input": "UTF-8 bytes", "result": "unsigned 32-bit", "buckets": N_BUCKETS},
        "input": {"name": "features", "type": "float32", "shape": ["N", len(FEATURES)]},
        "outputs": [
            {"name": "label", "type": "int64", "shape": ["N"], "meaning": "predicted class (1 = delayed)"},
            {"name": "probabilities", "type": "float32", "shape": ["N", 2],
             "meaning": "[:, 1] = P(delay > 15 min)"},
        ],
        "onnx_io_from_onnxruntime": io,
        "split": {
            "cutoff_ms": cutoff,
            "cutoff_iso": iso(cutoff),
            "rule": "train: date_ms < cutoff_ms; hold-out: date_ms >= cutoff_ms. cutoff = start of the last "
                    "calendar month holding >= 1% of rows (June 2001); the 6 rows at 2001-07-01T00:00 "
                    "(roll-over of 24:00 departures) are in the hold-out.",
            "train_period_rows": int(len(train_idx)),
            "training_rows": int(len(fit_idx)),
            "training_sample": f"uniform random sample without replacement of {len(fit_idx):,} of the "
                               f"{len(train_idx):,} train-period rows (numpy default_rng({SEED}))",
            "holdout_rows": int(len(hold_idx)),
            "holdout_positive_rate": base_rate,
        },
        "model": {
            "estimator": "sklearn.ensemble.HistGradientBoostingClassifier",
            "params": HGB_PARAMS,
            "n_iter": int(model.n_iter_),
            "omp_threads": N_THREADS,
            "onnx_file": "flight-delay.onnx",
            "onnx_bytes": len(model_bytes),
            "onnx_sha256": hashlib.sha256(model_bytes).hexdigest(),
            "target_opset": TARGET_OPSET,
            "opset_import": {op.domain or "ai.onnx": int(op.version) for op in onx.opset_import},
            "ir_version": int(onx.ir_version),
            "zipmap": False,
        },
        "metrics": {
            "holdout_roc_auc": auc,
            "holdout_roc_auc_sklearn": auc_skl,
            "max_abs_prob_diff_onnx_vs_sklearn": max_diff,
            "computed_by": "sklearn.metrics.roc_auc_score on onnxruntime (Python) probabilities[:, 1]",
        },
        "versions": versions,
        "reproduce": [
            "python3 -m venv /tmp/flight-delay-venv",
            "/tmp/flight-delay-venv/bin/pip install -r examples/flight-delay/train/requirements.txt",
            "/tmp/flight-delay-venv/bin/python examples/flight-delay/train/train.py",
        ],
        "reproduce_note": "run from the repository root after `npm ci` (the data comes from the vega-datasets npm package)",
    }
    (args.out / "model-card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {model_path} ({len(model_bytes):,} bytes, sha256 {card['model']['onnx_sha256'][:16]}...)")
    print(f"total {time.time() - t0:.1f}s")


if __name__ == "__main__":
    sys.exit(main())
