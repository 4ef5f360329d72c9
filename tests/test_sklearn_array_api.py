"""DNNClassifier/DNNRegressor under scikit-learn's ``array_api_dispatch`` (issue #14, item 3).

scikit-learn's Array API support needs ``SCIPY_ARRAY_API=1`` in the environment before SciPy is first
imported, which a pytest process that already imported SciPy cannot do. So without it this file holds one
test that reruns the file with ``pytest`` in a subprocess with the variable set (and ``_CHILD`` set, so the
child runs the real tests instead of recursing) and fails with the child's report, or skips with the
child's skip reasons when every test there skipped. Run with ``SCIPY_ARRAY_API=1`` already set, the real
tests run in this process.

Backends: array-api-strict on its default device and on its simulated ``Device("device1")`` (which raises
on any implicit conversion to NumPy), and PyTorch CPU; each skips when its library is not installed.
Every fit under dispatch equals the NumPy fit within 1e-12 (float64).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

_CHILD = "VECPROP_SKLEARN_ARRAY_API_CHILD"
_IN_PLACE = os.environ.get("SCIPY_ARRAY_API") == "1"


if not _IN_PLACE:

    def test_array_api_suite_in_a_subprocess_with_scipy_array_api():
        """The tests below, in a fresh interpreter with SCIPY_ARRAY_API=1."""
        if os.environ.get(_CHILD):  # pragma: no cover - the child always has the variable set
            pytest.fail(f"{_CHILD} is set but SCIPY_ARRAY_API is not 1: refusing to recurse")
        env = {**os.environ, "SCIPY_ARRAY_API": "1", _CHILD: "1"}
        here = Path(__file__).resolve()
        cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(here)]
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=here.parents[1], timeout=1800)
        report = run.stdout[-12000:] + run.stderr[-4000:]
        if run.returncode != 0:
            why = f"the Array API tests failed in the subprocess (SCIPY_ARRAY_API=1), exit {run.returncode}"
            pytest.fail(f"{why}:\n{report}")
        passed = re.search(r"(\d+) passed", run.stdout)
        if passed is None:
            reasons = sorted(set(re.findall(r"SKIPPED \[\d+\] [^:]+:\d+: (.*)", run.stdout)))
            pytest.skip("every Array API test skipped in the subprocess: " + "; ".join(reasons))
        print(report)

else:
    import sklearn
    from sklearn.base import clone
    from sklearn.datasets import make_classification, make_regression
    from sklearn.utils.estimator_checks import check_array_api_input, check_array_api_same_namespace

    from vecprop.engines.xp_propagation import to_host
    from vecprop.sklearn import DNNClassifier, DNNRegressor

    BACKENDS = ["array_api_strict", "array_api_strict:device1", "torch:cpu"]
    TOL = 1e-12

    def _backend(name):
        """(xp, device, namespace name as scikit-learn's checks spell it, device name) for a backend id."""
        lib, _, dev = name.partition(":")
        xp = pytest.importorskip(lib, reason=f"{lib} is not installed (pip install {lib.replace('_', '-')})")
        pytest.importorskip("array_api_compat", reason='array-api-compat missing: pip install "vecprop[array]"')
        if lib == "array_api_strict":
            device = xp.Device(dev) if dev else None
            return xp, device, lib, dev or None
        return xp, dev, lib, dev

    def _on(xp, a, device):
        return xp.asarray(a, device=device) if device is not None else xp.asarray(a)

    def _same_place(a, like):
        """a is an array of like's library on like's device."""
        assert type(a) is type(like), f"{type(a)} is not {type(like)}"
        assert a.device == like.device, f"on {a.device}, expected {like.device}"

    def _max_diff(a, b) -> float:
        a, b = np.asarray(to_host(a), dtype=float), np.asarray(b, dtype=float)
        assert a.shape == b.shape
        return float(np.max(np.abs(a - b))) if a.size else 0.0

    def _data(kind):
        if kind.startswith("regress"):
            X, y = make_regression(n_samples=70, n_features=5, n_targets=2 if kind == "regress2" else 1, random_state=1)
            return X, y / 100
        n_classes = {"binary": 2, "multiclass": 3}[kind]
        X, y = make_classification(n_samples=70, n_features=5, n_informative=3, n_classes=n_classes, random_state=0)
        return X, y

    CASES = {
        # id: (estimator, data)
        "adam-multiclass": (DNNClassifier((7, 5), max_iter=15, batch_size=16, random_state=0), "multiclass"),
        "sgd-binary-l2": (
            DNNClassifier((6,), solver="sgd", alpha=1e-2, max_iter=12, batch_size=20, random_state=3),
            "binary",
        ),
        "adam-early-stopping": (
            DNNClassifier((6,), max_iter=15, early_stopping=True, n_iter_no_change=3, random_state=2),
            "multiclass",
        ),
        "lbfgs-regressor": (
            DNNRegressor(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=30, random_state=0),
            "regress",
        ),
        "adam-regressor-2-outputs": (
            DNNRegressor(hidden_layer_sizes=(6,), activation="tanh", max_iter=12, batch_size=25, random_state=4),
            "regress2",
        ),
    }

    @pytest.fixture(autouse=True)
    def _quiet():
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            yield

    @pytest.mark.parametrize("case", list(CASES))
    @pytest.mark.parametrize("backend", BACKENDS)
    def test_fit_under_dispatch_equals_the_numpy_fit(backend, case):
        xp, device, _, _ = _backend(backend)
        proto, kind = CASES[case]
        X, y = _data(kind)
        ref = clone(proto).fit(X, y)
        X_xp, y_xp = _on(xp, X, device), _on(xp, y, device)
        with sklearn.config_context(array_api_dispatch=True):
            est = clone(proto).fit(X_xp, y_xp)
            pred = est.predict(X_xp)
            score = est.score(X_xp, y_xp)
            proba = est.predict_proba(X_xp) if hasattr(est, "predict_proba") else None
            hidden = est.hidden_activations(X_xp, layer=1)
        _same_place(hidden, X_xp)
        assert _max_diff(hidden, ref.hidden_activations(X, layer=1)) <= TOL
        for got, want in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_):
            _same_place(got, X_xp)
            assert _max_diff(got, want) <= TOL
        _same_place(pred, X_xp)
        assert _max_diff(pred, ref.predict(X)) <= TOL
        # score is scikit-learn's accuracy_score/r2_score on those predictions; on torch it averages in torch's
        # default float32, hence float32 rounding (the predictions themselves agree to TOL above)
        assert isinstance(score, float) and abs(score - ref.score(X, y)) <= (1e-6 if "torch" in backend else TOL)
        if proba is not None:
            _same_place(proba, X_xp)
            assert _max_diff(proba, ref.predict_proba(X)) <= TOL
            _same_place(est.classes_, X_xp)  # numeric labels follow X, as in scikit-learn's classifiers
            assert np.array_equal(to_host(est.classes_), ref.classes_)
        assert est.n_iter_ == ref.n_iter_
        assert np.allclose(est.loss_curve_, ref.loss_curve_, rtol=TOL, atol=0)
        if ref.validation_scores_ is not None:
            assert est.validation_scores_ == ref.validation_scores_

    def _coef_diff(est, ref) -> float:
        for W in est.coefs_ + est.intercepts_:
            assert type(W) is not np.ndarray
        return max(_max_diff(a, b) for a, b in zip(est.coefs_ + est.intercepts_, ref.coefs_ + ref.intercepts_))

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_weights_partial_fit_warm_start_dropout_multilabel_equal_numpy(backend):
        xp, device, _, _ = _backend(backend)
        X, y = _data("multiclass")
        w = np.random.default_rng(0).uniform(0, 2, X.shape[0])
        w[:3] = 0  # zero-weight rows are dropped (taken on the device)
        X_xp, y_xp, w_xp = (_on(xp, a, device) for a in (X, y, w))
        kw = dict(hidden_layer_sizes=(6,), max_iter=5, batch_size=16, random_state=0)

        ref = DNNClassifier(**kw, class_weight="balanced").fit(X, y, sample_weight=w)
        with sklearn.config_context(array_api_dispatch=True):
            est = DNNClassifier(**kw, class_weight="balanced").fit(X_xp, y_xp, sample_weight=w_xp)
        assert _coef_diff(est, ref) <= TOL

        ref, est = DNNClassifier(**kw), DNNClassifier(**kw)
        for _ in range(3):
            ref.partial_fit(X, y, classes=[0, 1, 2])
            with sklearn.config_context(array_api_dispatch=True):
                est.partial_fit(X_xp, y_xp, classes=_on(xp, np.arange(3), device))
        assert _coef_diff(est, ref) <= TOL

        ref = DNNClassifier(**kw, warm_start=True).fit(X, y).fit(X, y)
        with sklearn.config_context(array_api_dispatch=True):
            est = DNNClassifier(**kw, warm_start=True).fit(X_xp, y_xp).fit(X_xp, y_xp)
        assert _coef_diff(est, ref) <= TOL and est.n_iter_ == ref.n_iter_

        for solver in ("sgd", "rmsprop", "adamw"):  # masks drawn on the host from the network's Generator
            ref = DNNClassifier(**kw, solver=solver, keep_prob=0.8).fit(X, y)
            with sklearn.config_context(array_api_dispatch=True):
                est = DNNClassifier(**kw, solver=solver, keep_prob=0.8).fit(X_xp, y_xp)
            assert _coef_diff(est, ref) <= TOL, solver

        Y2 = np.stack([y == 0, y == 1], axis=1).astype(np.int64)  # multilabel indicators
        ref = DNNClassifier(**kw).fit(X, Y2)
        with sklearn.config_context(array_api_dispatch=True):
            est = DNNClassifier(**kw).fit(X_xp, _on(xp, Y2, device))
            pred, log_proba = est.predict(X_xp), est.predict_log_proba(X_xp)
        assert _coef_diff(est, ref) <= TOL
        _same_place(pred, X_xp)
        assert np.array_equal(to_host(pred), ref.predict(X))
        assert _max_diff(log_proba, ref.predict_log_proba(X)) <= TOL

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_saving_from_a_device_writes_the_numpy_file(backend, tmp_path):
        import vecprop

        xp, device, _, _ = _backend(backend)
        X, y = _data("multiclass")
        ref = DNNClassifier((5,), max_iter=4, random_state=0).fit(X, y)
        with sklearn.config_context(array_api_dispatch=True):
            est = DNNClassifier((5,), max_iter=4, random_state=0).fit(_on(xp, X, device), _on(xp, y, device))
        est.save(tmp_path / "device.safetensors")
        ref.save(tmp_path / "numpy.safetensors")
        back, twin = vecprop.load(tmp_path / "device.safetensors"), vecprop.load(tmp_path / "numpy.safetensors")
        assert all(isinstance(W, np.ndarray) for W in back.coefs_)  # loading gives NumPy
        assert max(_max_diff(a, b) for a, b in zip(back.coefs_, twin.coefs_)) <= TOL
        assert np.array_equal(back.predict(X), ref.predict(X))
        back.partial_fit(X, y)  # the optimizer state came along, on the host
        twin.partial_fit(X, y)
        assert max(_max_diff(a, b) for a, b in zip(back.coefs_, twin.coefs_)) <= TOL

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_string_labels_stay_numpy(backend):
        xp, device, _, _ = _backend(backend)
        X, y = _data("multiclass")
        labels = np.array(["ant", "bee", "cat"])[y]
        ref = DNNClassifier((5,), max_iter=5, random_state=0).fit(X, labels)
        X_xp = _on(xp, X, device)
        with sklearn.config_context(array_api_dispatch=True):
            est = DNNClassifier((5,), max_iter=5, random_state=0).fit(X_xp, labels)
            pred = est.predict(X_xp)
            proba = est.predict_proba(X_xp)
        assert isinstance(est.classes_, np.ndarray) and est.classes_.tolist() == ["ant", "bee", "cat"]
        assert isinstance(pred, np.ndarray) and pred.tolist() == ref.predict(X).tolist()
        _same_place(proba, X_xp)
        assert _max_diff(proba, ref.predict_proba(X)) <= TOL

    @pytest.mark.parametrize("backend", BACKENDS)
    @pytest.mark.parametrize("Estimator", [DNNClassifier, DNNRegressor])
    def test_scikit_learn_array_api_checks(backend, Estimator):
        _, _, namespace, device_name = _backend(backend)
        est = Estimator(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
        check_array_api_input(Estimator.__name__, est, namespace, device_name=device_name, dtype_name="float64")
        check_array_api_input(
            Estimator.__name__, est, namespace, device_name=device_name, dtype_name="float64", check_values=True
        )
        check_array_api_same_namespace(Estimator.__name__, est, namespace, device_name=device_name)

    @pytest.mark.parametrize("Estimator", [DNNClassifier, DNNRegressor])
    def test_y_and_sample_weight_of_another_namespace_follow_x(Estimator):
        """scikit-learn's mixed-inputs check: X on array-api-strict's device1, y and sample_weight torch CPU."""
        from sklearn.utils._array_api import yield_mixed_namespace_input_permutations
        from sklearn.utils.estimator_checks import check_array_api_mixed_inputs

        _backend("torch:cpu")
        _backend("array_api_strict:device1")
        combos = [c for c in yield_mixed_namespace_input_permutations() if c[2] == "array_api_strict to torch cpu"]
        assert combos, "scikit-learn no longer yields this combination"
        X_where, other_where, _ = combos[0]
        est = Estimator(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
        check_array_api_mixed_inputs(Estimator.__name__, est, X_where, other_where)

    def test_the_estimators_declare_array_api_support():
        for Estimator in (DNNClassifier, DNNRegressor):
            assert Estimator().__sklearn_tags__().array_api_support is True

    def test_sparse_input_is_refused_under_dispatch():
        import scipy.sparse as sp

        X, y = _data("binary")
        X_sparse = sp.csr_matrix(X)
        refused = r"sparse input is not supported with .*array_api_dispatch=True"
        with sklearn.config_context(array_api_dispatch=True), pytest.raises(ValueError, match=refused):
            DNNClassifier((4,), max_iter=2).fit(X_sparse, y)
        est = DNNClassifier((4,), max_iter=2, random_state=0).fit(X_sparse, y)  # dispatch off: densified
        with sklearn.config_context(array_api_dispatch=True), pytest.raises(ValueError, match=refused):
            est.predict(X_sparse)

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_predict_elsewhere_than_fit_is_refused(backend):
        xp, device, _, _ = _backend(backend)
        X, y = _data("binary")
        X_xp = _on(xp, X, device)
        with sklearn.config_context(array_api_dispatch=True):
            est = DNNClassifier((4,), max_iter=3, random_state=0).fit(X_xp, _on(xp, y, device))
            with pytest.raises(ValueError, match=r"DNNClassifier\.predict_proba\(\) must use the same namespace"):
                est.predict_proba(X)
        with pytest.raises(ValueError, match=r"fitted under sklearn.config_context\(array_api_dispatch=True\)"):
            est.predict(X)  # dispatch off, NumPy X, weights on the device: never converted silently
        import numpy

        est.network_.to(numpy)  # the fix the message names
        ref = DNNClassifier((4,), max_iter=3, random_state=0).fit(X, y)
        assert np.array_equal(est.predict(X), ref.predict(X))

    def test_dispatch_off_keeps_the_numpy_path():
        torch = pytest.importorskip("torch", reason="torch is not installed")
        X, y = _data("multiclass")
        ref = DNNClassifier((5,), max_iter=4, random_state=0).fit(X, y)
        est = DNNClassifier((5,), max_iter=4, random_state=0).fit(torch.asarray(X), torch.asarray(y))
        assert all(isinstance(W, np.ndarray) for W in est.coefs_)
        assert all(np.array_equal(a, b) for a, b in zip(est.coefs_, ref.coefs_))
        assert isinstance(est.predict_proba(torch.asarray(X)), np.ndarray)
