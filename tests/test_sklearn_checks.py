"""scikit-learn's own estimator checks, every one of them, on DNNClassifier and DNNRegressor.

The instances are the default constructors, the L-BFGS solver and the Poisson loss: scikit-learn's
checks clone them, so what passes here is what ``MLPClassifier()`` / ``MLPRegressor()`` users get.
One check is an expected failure, for the Poisson loss only (below).
"""

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from vecprop import DNNClassifier, DNNRegressor  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Tiny matrices: one BLAS thread is faster and immune to a busy machine."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


# The one expected failure: scikit-learn's check_regressor_multioutput feeds make_regression's negative
# targets without honouring the positive_only tag, and loss="poisson" refuses y < 0 with a ValueError
# (scikit-learn's MLPRegressor trains on them with a NaN loss).
POISSON_NEGATIVE_Y = {"check_regressor_multioutput": "feeds y < 0 to a Poisson loss despite positive_only"}


@parametrize_with_checks(
    [
        DNNClassifier(),
        DNNRegressor(),
        DNNClassifier(solver="lbfgs"),
        DNNRegressor(solver="lbfgs"),
        DNNRegressor(loss="poisson"),
    ],
    expected_failed_checks=lambda est: POISSON_NEGATIVE_Y if est.get_params().get("loss") == "poisson" else {},
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
