"""The ``test`` function: evaluate a trained model on its test set, with a confusion matrix."""

from __future__ import annotations

from flowc.runtime import load_model
from flowc.runtime.plots import confusion_matrix_svg


def test(context, models_path, test_set, label_column: str = "label") -> None:
    """Predict ``test_set`` with the model at ``models_path`` and log:

    * results ``accuracy``, ``f1_score``, ``precision``, ``recall`` (macro) and ``test_rows``;
    * a ``confusion-matrix`` plot artifact (SVG).
    """
    from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, precision_score,
                                 recall_score)

    model = load_model(models_path.local())
    df = test_set.as_df()
    if label_column not in df.columns:
        raise ValueError(f"label column {label_column!r} is not in the test set "
                         f"(columns: {', '.join(map(str, df.columns))})")
    expected = df.pop(label_column)
    predicted = model.predict(df)

    context.log_result("accuracy", float(accuracy_score(expected, predicted)))
    context.log_result("f1_score", float(f1_score(expected, predicted, average="macro")))
    context.log_result("precision", float(precision_score(expected, predicted, average="macro",
                                                          zero_division=0)))
    context.log_result("recall", float(recall_score(expected, predicted, average="macro")))
    context.log_result("test_rows", int(len(df)))

    labels = sorted(set(expected.tolist()) | set(predicted.tolist()))
    matrix = confusion_matrix(expected, predicted, labels=labels).tolist()
    context.log_plot("confusion-matrix",
                     confusion_matrix_svg(matrix, [str(label) for label in labels],
                                          title=f"Confusion matrix ({type(model).__name__})"),
                     format="svg")
    context.logger.info("tested", model=type(model).__name__,
                        accuracy=context.results["accuracy"])
