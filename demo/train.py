#!/usr/bin/python3
"""Trains one demo model version; demo/make-models.ts runs it (do not run it alone).

Run with Debian's Python (python3-sklearn, python3-onnx):
  /usr/bin/python3 demo/train.py TRAIN.csv SCHEMA.json OUT.onnx EXPECTED.json LABEL0,LABEL1

TRAIN.csv holds the features, `date` and `label` (written by demo/make-models.ts from
vega-datasets); SCHEMA.json is `driftline profile`'s feature schema of that same file, so the
model's input columns are exactly the ones the runtime writes (protocol/row-encoding.ts): a
numeric feature is one column, a categorical one `len(categories)` one-hot columns (a category
the schema does not have: all zeros, as OneHotEncoder(handle_unknown="ignore")). Missing numeric
values arrive as NaN (the features are `nullable`) and are imputed with the training median
inside the graph.

The model: logistic regression (C=1, class_weight balanced off) on the numeric columns
standardised and the one-hot columns as they are, exported as
  Where(IsNaN(x), median, x) -> (x - mean) / scale -> MatMul W -> Add B -> Softmax
Writes OUT.onnx and EXPECTED.json: 64 training rows as the runtime gets them (null = missing),
scikit-learn's predict_proba of them, and the training accuracy, for demo/check-model.ts.
"""
import csv
import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper
from scipy import sparse
from sklearn.linear_model import LogisticRegression

CHECK_ROWS = 64


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def design(rows, features, width):
    """The runtime's tensor columns of `rows` (missing numerics NaN), as a sparse matrix."""
    data, cols, indptr = [], [], [0]
    for r in rows:
        for f in features:
            cell = r[f["name"]]
            if f["kind"] == "numeric":
                data.append(float(cell) if cell != "" else np.nan)
                cols.append(f["index"])
            else:
                at = f["_lookup"].get(cell)
                if at is not None:
                    data.append(1.0)
                    cols.append(f["index"] + at)
        indptr.append(len(data))
    return sparse.csr_matrix((np.array(data), np.array(cols), np.array(indptr)), shape=(len(rows), width))


def to_onnx(model, fill, mean, scale, width, path, name):
    weights = np.zeros((width, 2), dtype=np.float32)
    weights[:, 1] = model.coef_[0]
    bias = np.array([0.0, model.intercept_[0]], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("IsNaN", ["features"], ["missing"]),
            helper.make_node("Where", ["missing", "fill", "features"], ["filled"]),
            helper.make_node("Sub", ["filled", "mean"], ["centred"]),
            helper.make_node("Div", ["centred", "scale"], ["scaled"]),
            helper.make_node("MatMul", ["scaled", "W"], ["wx"]),
            helper.make_node("Add", ["wx", "B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ],
        name,
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        initializer=[
            helper.make_tensor("fill", TensorProto.FLOAT, [width], fill.astype(np.float32)),
            helper.make_tensor("mean", TensorProto.FLOAT, [width], mean.astype(np.float32)),
            helper.make_tensor("scale", TensorProto.FLOAT, [width], scale.astype(np.float32)),
            helper.make_tensor("W", TensorProto.FLOAT, [width, 2], weights.flatten()),
            helper.make_tensor("B", TensorProto.FLOAT, [2], bias),
        ],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="driftline-demo")
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    onnx.save(proto, path)


def main():
    train_path, schema_path, out_path, expected_path, labels = sys.argv[1:6]
    labels = labels.split(",")
    features = json.load(open(schema_path))["features"]
    width = 0
    for f in features:
        if f["kind"] == "categorical":
            f["_lookup"] = {c: i for i, c in enumerate(f["categories"])}
            width = max(width, f["index"] + len(f["categories"]))
        else:
            width = max(width, f["index"] + 1)
    rows = read_rows(train_path)
    y = np.array([labels.index(r["label"]) for r in rows])
    X = design(rows, features, width)

    fill = np.zeros(width)
    mean = np.zeros(width)
    scale = np.ones(width)
    X = X.tolil()
    for f in (f for f in features if f["kind"] == "numeric"):
        column = X[:, f["index"]].toarray().ravel()
        known = column[~np.isnan(column)]
        fill[f["index"]] = np.median(known)
        column[np.isnan(column)] = fill[f["index"]]
        mean[f["index"]], scale[f["index"]] = column.mean(), column.std() or 1.0
        X[:, f["index"]] = ((column - mean[f["index"]]) / scale[f["index"]]).reshape(-1, 1)
    X = X.tocsr()

    model = LogisticRegression(C=1.0, max_iter=2000)
    model.fit(X, y)
    to_onnx(model, fill, mean, scale, width, out_path, out_path.rsplit("/", 1)[-1].removesuffix(".onnx"))

    step = max(1, len(rows) // CHECK_ROWS)
    picked = list(range(0, len(rows), step))[:CHECK_ROWS]
    check_rows = []
    for i in picked:
        row = {}
        for f in features:
            cell = rows[i][f["name"]]
            row[f["name"]] = None if cell == "" else (float(cell) if f["kind"] == "numeric" else cell)
        check_rows.append(row)
    expected = {
        "labels": labels,
        "rows": check_rows,
        "probabilities": model.predict_proba(X[picked]).tolist(),
        "training_accuracy": float(model.score(X, y)),
        "training_rows": len(rows),
        "positive_share": float(y.mean()),
    }
    with open(expected_path, "w") as f:
        json.dump(expected, f, indent=1)
    print(f"{out_path}: {len(rows)} rows, {width} columns, training accuracy {expected['training_accuracy']:.4f}, {labels[1]} share {expected['positive_share']:.4f}")


if __name__ == "__main__":
    main()
