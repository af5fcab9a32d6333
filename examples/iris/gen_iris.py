"""The ``gen-iris`` function: scikit-learn's bundled iris data as a dataset artifact."""

from __future__ import annotations


def iris_generator(context, format: str = "csv") -> None:
    """Log ``iris_dataset``: four feature columns and an integer ``label`` column (150 rows).

    ``format`` is ``csv``, ``parquet`` or ``pq``.
    """
    import pandas as pd
    from sklearn.datasets import load_iris

    iris = load_iris()
    dataset = pd.DataFrame(data=iris.data, columns=iris.feature_names)
    dataset["label"] = iris.target
    context.logger.info("saving the iris dataset", rows=len(dataset), format=format,
                        artifact_path=context.artifact_path)
    context.log_dataset("iris_dataset", df=dataset, format=format, index=False)
