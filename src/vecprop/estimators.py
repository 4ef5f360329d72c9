"""The scikit-learn estimators' former home; they live in :mod:`vecprop.sklearn` now.

``from vecprop.estimators import DNNClassifier`` keeps working.
"""

from __future__ import annotations

from vecprop.sklearn import DNNClassifier, DNNRegressor, MLPLearningRate

__all__ = ["DNNClassifier", "DNNRegressor", "MLPLearningRate"]
