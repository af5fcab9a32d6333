"""Serve scikit-learn classifiers: ``deploy_function(serving, models=[{"key", "model_path"}])``.

``model_path`` is a model file (``.pkl``/``.joblib``) or a model folder written by
``context.log_model``. A request ``{"inputs": [[f1, f2, ...], ...]}`` gets
``{"outputs": [prediction, ...]}``.
"""

from __future__ import annotations

from typing import Any

from flowc.runtime.artifacts import load_model
from flowc.runtime.serving import V2ModelServer


class ClassifierModel(V2ModelServer):
    """A scikit-learn estimator with ``predict``."""

    def load(self) -> None:
        model_file, _extra = self.get_model(".pkl")
        self.model = load_model(model_file)
        if not hasattr(self.model, "predict"):
            raise TypeError(f"{model_file} holds a {type(self.model).__name__}, "
                            "which has no predict()")

    def predict(self, body: dict) -> list[Any]:
        import numpy as np

        features = np.asarray(body["inputs"])
        if features.ndim == 1:
            features = features.reshape(1, -1)
        names = getattr(self.model, "feature_names_in_", None)
        if names is not None and features.ndim == 2 and features.shape[1] == len(names):
            import pandas as pd  # fitted on a DataFrame: predict on one with the same columns

            features = pd.DataFrame(features, columns=list(names))
        return self.model.predict(features).tolist()
