"""scikit-learn's own estimator checks, every one of them, on DNNClassifier and DNNRegressor.

The instances are the default constructors: scikit-learn's checks clone them, so what passes here is
what ``MLPClassifier()`` / ``MLPRegressor()`` users get. No check is marked as an expected failure.
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


@parametrize_with_checks([DNNClassifier(), DNNRegressor()])
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
