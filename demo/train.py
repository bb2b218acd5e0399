#!/usr/bin/python3
"""Trains the demo model and writes everything the demo ships.

Run with Debian's Python (python3-sklearn, python3-onnx): /usr/bin/python3 demo/train.py

Dataset: the Wisconsin Diagnostic Breast Cancer data (569 patients, 30 numeric features of
cell nuclei measured from a fine-needle aspirate image, diagnosis malignant/benign), which
scikit-learn ships, so nothing is downloaded.

Writes:
  demo/data/train.csv      the training split (features + diagnosis), what `driftline profile` reads
  demo/data/live.csv       the held-out split, what the fleet simulator replays
  demo/model/cancer-v1.onnx  standardise -> logistic regression (C=1) -> softmax
  demo/model/cancer-v2.onnx  the same with C=0.1 (a candidate for a canary)
  demo/model/expected.json   scikit-learn's predict_proba on the first live rows, to check the ONNX graphs
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
LABELS = ["malignant", "benign"]  # scikit-learn's target 0 and 1


def feature_names(data):
    return [name.replace(" ", "_") for name in data.feature_names]


def write_csv(path, names, X, y):
    with open(path, "w") as f:
        f.write(",".join(names + ["diagnosis"]) + "\n")
        for row, target in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + "," + LABELS[target] + "\n")


def to_onnx(pipeline, n_features, path):
    scaler, model = pipeline.steps[0][1], pipeline.steps[1][1]
    # Binary logistic regression as a 2-class softmax: logits [0, w.x + b].
    weights = np.zeros((n_features, 2), dtype=np.float32)
    weights[:, 1] = model.coef_[0]
    bias = np.array([0.0, model.intercept_[0]], dtype=np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Sub", ["features", "mean"], ["centred"]),
            helper.make_node("Div", ["centred", "scale"], ["scaled"]),
            helper.make_node("MatMul", ["scaled", "W"], ["wx"]),
            helper.make_node("Add", ["wx", "B"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
        ],
        "cancer",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2])],
        initializer=[
            helper.make_tensor("mean", TensorProto.FLOAT, [n_features], scaler.mean_.astype(np.float32)),
            helper.make_tensor("scale", TensorProto.FLOAT, [n_features], scaler.scale_.astype(np.float32)),
            helper.make_tensor("W", TensorProto.FLOAT, [n_features, 2], weights.flatten()),
            helper.make_tensor("B", TensorProto.FLOAT, [2], bias),
        ],
    )
    model_proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="driftline-demo")
    model_proto.ir_version = 8
    onnx.checker.check_model(model_proto)
    onnx.save(model_proto, path)


def main():
    data = load_breast_cancer()
    names = feature_names(data)
    X_train, X_live, y_train, y_live = train_test_split(data.data, data.target, test_size=0.3, random_state=7, stratify=data.target)
    write_csv(os.path.join(HERE, "data", "train.csv"), names, X_train, y_train)
    write_csv(os.path.join(HERE, "data", "live.csv"), names, X_live, y_live)
    expected = {"labels": LABELS, "rows": X_live[:20].tolist(), "versions": {}}
    for version, c in (("v1", 1.0), ("v2", 0.1)):
        pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
        pipeline.fit(X_train, y_train)
        to_onnx(pipeline, len(names), os.path.join(HERE, "model", f"cancer-{version}.onnx"))
        expected["versions"][version] = {
            "accuracy": float(pipeline.score(X_live, y_live)),
            "probabilities": pipeline.predict_proba(X_live[:20]).tolist(),
        }
        print(f"cancer-{version}: C={c}, held-out accuracy {pipeline.score(X_live, y_live):.3f}")
    with open(os.path.join(HERE, "model", "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
