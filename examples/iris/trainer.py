"""The ``train`` function: fit one scikit-learn classifier and log it with its test split.

Run under hyper-parameters, each iteration gets another ``model_pkg_class``; the engine keeps
the iteration with the best ``accuracy`` (``selector="max.accuracy"``).
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any


def train(context, dataset, model_pkg_class: str = "sklearn.linear_model.LogisticRegression",
          label_column: str = "label", test_size: float = 0.2, sample: int = -1,
          random_state: int = 1, model_params: dict | None = None) -> None:
    """Train ``model_pkg_class`` on ``dataset`` and log:

    * results ``accuracy``, ``f1_score``, ``precision``, ``recall`` (macro averages, on the
      held-out split), ``train_rows``, ``test_rows``;
    * artifacts ``model`` (the fitted estimator) and ``test_set`` (the held-out rows).

    ``sample``: -1 (or 0) uses every row, N > 0 the first N rows, N < -1 a random sample of
    -N rows. ``model_params`` are passed to the estimator's constructor.
    """
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
    from sklearn.model_selection import train_test_split

    df = dataset.as_df()
    if label_column not in df.columns:
        raise ValueError(f"label column {label_column!r} is not in the dataset "
                         f"(columns: {', '.join(map(str, df.columns))})")
    if sample > 0:
        df = df.head(sample)
    elif sample < -1:
        df = df.sample(min(-sample, len(df)), random_state=random_state)
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be between 0 and 1, got {test_size}")

    features = df.drop(columns=[label_column])
    labels = df[label_column]
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=test_size, random_state=random_state, stratify=labels)

    model = make_estimator(model_pkg_class, model_params or {}, random_state)
    context.logger.info("training", model=model_pkg_class, rows=len(x_train))
    model.fit(x_train, y_train)
    predicted = model.predict(x_test)

    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1_score": float(f1_score(y_test, predicted, average="macro")),
        "precision": float(precision_score(y_test, predicted, average="macro",
                                           zero_division=0)),
        "recall": float(recall_score(y_test, predicted, average="macro")),
    }
    context.log_results(metrics)
    context.log_result("train_rows", len(x_train))
    context.log_result("test_rows", len(x_test))
    context.log_model("model", model, metrics=metrics, framework="sklearn",
                      parameters={"model_pkg_class": model_pkg_class,
                                  **{k: _plain(v) for k, v in (model_params or {}).items()}},
                      label_column=label_column, feature_names=list(map(str, features.columns)))
    test_set = x_test.copy()
    test_set[label_column] = y_test
    context.log_dataset("test_set", test_set, format="parquet", index=False)
    context.logger.info("trained", model=model_pkg_class, **metrics)


def make_estimator(model_pkg_class: str, params: dict[str, Any], random_state: int) -> Any:
    """An instance of ``model_pkg_class`` (a scikit-learn class path, e.g.
    ``sklearn.ensemble.RandomForestClassifier``) built with ``params``.

    Only ``sklearn.`` classes are accepted: the name comes from workflow parameters and is
    imported. ``random_state`` and a larger ``max_iter`` are set when the class takes them.
    """
    module_name, _, class_name = model_pkg_class.rpartition(".")
    if not module_name.startswith("sklearn.") or not class_name.isidentifier():
        raise ValueError(f"model_pkg_class {model_pkg_class!r} is not a scikit-learn class path "
                         "such as 'sklearn.ensemble.RandomForestClassifier'")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise ValueError(f"model_pkg_class {model_pkg_class!r}: no class {class_name!r} "
                         f"in {module_name}") from None
    known = {name for name in inspect.signature(cls).parameters if name != "self"}
    options = dict(params)
    if "random_state" in known:
        options.setdefault("random_state", random_state)
    if "max_iter" in known:
        options.setdefault("max_iter", 1000)  # LogisticRegression's 100 does not converge here
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"{model_pkg_class} does not take {', '.join(unknown)}")
    return cls(**options)


def _plain(value: Any) -> Any:
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
