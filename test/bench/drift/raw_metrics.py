#!/usr/bin/python3
"""The drift bench's raw-row side: the drift metrics of collector/drift/ computed by numpy/scipy
from the raw rows test/bench/fleet/feed.ts wrote, timed per query.

Run with Debian's python (python3-numpy, python3-scipy), not a pyenv one:
  /usr/bin/python3 test/bench/drift/raw_metrics.py RAW_DIR QUERIES_JSON RUNS

QUERIES_JSON is a list of {"name", "from", "to", "appVersion"?, "clients"?}: epoch-ms,
minute-aligned bounds of the report start minutes to keep, optionally one app version (the
segment), and optionally the clients to keep (those whose reports the collector acknowledged,
when not all of the feed went in). Prints one
JSON object: per query the rows compared and the seconds of each run (row selection and every
metric of every feature and the prediction), the seconds to load the files, and the metrics of
the first query (for the accuracy check against the collector).

Definitions, as docs/drift.md and test/fixtures/drift/make-fixtures.py:
- bins: the reference deciles (np.quantile method "inverted_cdf"), bins (-inf, e0], ..., (e8, inf);
  an empty bin's share becomes 0.0001 before PSI and JS.
- psi: sum (c - r) ln(c / r); js: scipy.spatial.distance.jensenshannon (natural log).
- ks: scipy.stats.ks_2samp(method="asymp") statistic; p-value kstwobign.sf(sqrt(n m / (n + m)) d).
- wasserstein_normed: scipy.stats.wasserstein_distance / max(np.std(reference), 0.001).
- chi2_pvalue: scipy.stats.chisquare of current counts against reference shares; bins empty on
  both sides left out.
- categorical: the categories plus one `other` bucket; classification prediction: class counts,
  KS and Wasserstein of the top-class scores.
"""
import json
import os
import sys
import time

import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

EMPTY = 0.0001
BINS = 10


def fill(shares):
    shares = np.array(shares, dtype=float)
    shares[shares == 0] = EMPTY
    return shares


def binned(ref_counts, cur_counts):
    r = fill(ref_counts / ref_counts.sum())
    c = fill(cur_counts / cur_counts.sum())
    keep = (ref_counts > 0) | (cur_counts > 0)
    expected = ref_counts[keep] / ref_counts.sum() * cur_counts.sum()
    observed = cur_counts[keep]
    chi2 = 0.0 if np.any((expected == 0) & (observed > 0)) else float(stats.chisquare(observed, expected).pvalue)
    return {"psi": float(np.sum((c - r) * np.log(c / r))), "js": float(jensenshannon(r, c)), "chi2_pvalue": chi2}


def quantile_metrics(ref, cur):
    edges = np.quantile(ref, np.arange(1, BINS) / BINS, method="inverted_cdf")
    ref_bins = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=BINS).astype(float)
    cur_bins = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=BINS).astype(float)
    d = float(stats.ks_2samp(ref, cur, method="asymp").statistic)
    en = len(ref) * len(cur) / (len(ref) + len(cur))
    return {
        "ks": d,
        "ks_pvalue": float(stats.kstwobign.sf(np.sqrt(en) * d)),
        "wasserstein_normed": float(stats.wasserstein_distance(ref, cur) / max(np.std(ref), 0.001)),
        **binned(ref_bins, cur_bins),
    }


def count_metrics(ref_codes, cur_codes, size):
    return binned(np.bincount(ref_codes, minlength=size).astype(float), np.bincount(cur_codes, minlength=size).astype(float))


def load(raw, side, meta, rows):
    num = np.fromfile(os.path.join(raw, f"{side}.num.f32"), dtype="<f4").reshape(rows, len(meta["numeric"]))
    cat = np.fromfile(os.path.join(raw, f"{side}.cat.u8"), dtype=np.uint8).reshape(rows, len(meta["categorical"]))
    return {
        # one contiguous float64 column per feature, as a data scientist's DataFrame holds them
        "num": np.ascontiguousarray(num.T, dtype=np.float64),
        "cat": np.ascontiguousarray(cat.T),
        "cls": np.fromfile(os.path.join(raw, f"{side}.class.u8"), dtype=np.uint8),
        "score": np.fromfile(os.path.join(raw, f"{side}.score.f32"), dtype="<f4").astype(np.float64),
    }


def all_metrics(meta, ref, cur):
    out = {}
    for j, name in enumerate(meta["numeric"]):
        out[name] = quantile_metrics(ref["num"][j], cur["num"][j])
    for k, feature in enumerate(meta["categorical"]):
        size = len(feature["categories"]) + 1
        out[feature["name"]] = count_metrics(ref["cat"][k], cur["cat"][k], size)
    scores = quantile_metrics(ref["score"], cur["score"])
    prediction = count_metrics(ref["cls"], cur["cls"], len(meta["labels"]))
    out["(prediction)"] = {**prediction, "ks": scores["ks"], "ks_pvalue": scores["ks_pvalue"], "wasserstein_normed": scores["wasserstein_normed"]}
    return out


def select(live, minute, segment, client, query, countries):
    keep = (minute >= query["from"] // 60000) & (minute < query["to"] // 60000)
    if query.get("clients") is not None:
        keep &= np.isin(client, np.asarray(query["clients"], dtype=np.uint16))
    if query.get("appVersion") is not None:
        keep &= segment // countries == query["appVersion"]
    return {"num": live["num"][:, keep], "cat": live["cat"][:, keep], "cls": live["cls"][keep], "score": live["score"][keep]}


def main():
    raw, queries, runs = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
    with open(os.path.join(raw, "meta.json")) as f:
        meta = json.load(f)
    t0 = time.perf_counter()
    ref = load(raw, "reference", meta, meta["referenceRows"])
    live = load(raw, "live", meta, meta["liveRows"])
    minute = np.fromfile(os.path.join(raw, "live.minute.i32"), dtype="<i4")
    segment = np.fromfile(os.path.join(raw, "live.segment.u8"), dtype=np.uint8)
    client = np.fromfile(os.path.join(raw, "live.client.u16"), dtype="<u2")
    load_seconds = time.perf_counter() - t0
    answers = []
    first_metrics = None
    for query in queries:
        seconds = []
        for _ in range(runs):
            t = time.perf_counter()
            cur = select(live, minute, segment, client, query, len(meta["countries"]))
            metrics = all_metrics(meta, ref, cur)
            seconds.append(time.perf_counter() - t)
        if first_metrics is None:
            first_metrics = metrics
        answers.append({"name": query["name"], "rows": int(len(cur["cls"])), "seconds": seconds})
    print(json.dumps({"numpy": np.__version__, "loadSeconds": load_seconds, "queries": answers, "metrics": first_metrics}))


if __name__ == "__main__":
    main()
