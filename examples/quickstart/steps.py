"""Handlers of the quickstart workflow: plain functions, standard library only."""

import json
import random


def make_data(context, rows: int = 200, seed: int = 7):
    """A toy dataset: points labelled by which side of x + y = 1 they fall on."""
    rng = random.Random(seed)
    points = [(rng.random(), rng.random()) for _ in range(rows)]
    data = [{"x": x, "y": y, "label": int(x + y > 1)} for x, y in points]
    context.log_artifact("dataset", body=json.dumps(data), format="json")


def train(context, dataset, threshold: float = 1.0, test_size: float = 0.25):
    """'Train' a threshold classifier and report its accuracy on a held-out part."""
    data = json.loads(dataset.get(encoding="utf-8"))
    cut = int(len(data) * (1 - test_size))
    test_rows = data[cut:]
    correct = sum(int(row["x"] + row["y"] > threshold) == row["label"] for row in test_rows)
    context.log_result("accuracy", correct / len(test_rows))
    context.log_artifact("model", body=json.dumps({"threshold": threshold}), format="json",
                         kind="model")
    context.log_artifact("test_set", body=json.dumps(test_rows), format="json")


def report(context, models_path, test_set):
    """Re-score the model on the test set and log the confusion counts."""
    model = json.loads(models_path.get(encoding="utf-8"))
    rows = json.loads(test_set.get(encoding="utf-8"))
    predicted = [int(r["x"] + r["y"] > model["threshold"]) for r in rows]
    for name, want, got in (("true_positive", 1, 1), ("false_positive", 0, 1),
                            ("true_negative", 0, 0), ("false_negative", 1, 0)):
        context.log_result(name, sum(p == got and r["label"] == want
                                     for p, r in zip(predicted, rows)))
