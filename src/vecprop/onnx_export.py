"""ONNX export: a Network, DNNClassifier or DNNRegressor as an ONNX graph that ONNX Runtime serves.

The graph takes examples as ROWS, ``X`` of shape (N, n_0) with a dynamic batch dimension N — the
layout of every serving stack — so layer l computes the transpose of eq. (2),
``Z[l].T = A[l-1].T W[l].T + b[l].T``, as one ``Gemm(A_prev, W, b, transB=1)`` with W stored in the
course's (n_l, n_{l-1}) layout, then A[l].T = g(Z[l].T) with g's ONNX operator. Only the built-in
activations have ONNX operators; a user's activation (:func:`vecprop.register_activation`) is Python
code and is refused with a ValueError.

Outputs:

- ``Network``: ``AL`` of shape (N, n_L), A[L].T. A network saved by ``vecprop train`` carries its
  Standardizer in ``metadata``; the graph applies it first, so it takes raw features as
  ``vecprop predict`` does.
- ``DNNClassifier``: ``label`` (N,) with the original class labels (strings, or int64 for integer labels, as
  skl2onnx types them; (N, n_labels) int64 indicators for multilabel targets) and ``probabilities`` (N, n_classes),
  exactly ``predict`` and ``predict_proba``.
- ``DNNRegressor``: ``variable`` (N, n_outputs), the name skl2onnx gives a regressor's output.

:func:`register_skl2onnx` registers both estimators with skl2onnx, so ``skl2onnx.to_onnx(pipeline,
X[:1])`` converts a Pipeline that contains them (``options={"zipmap": False}`` as for MLPClassifier).

The ``onnx`` package (``pip install 'vecprop[onnx]'``) is imported when a graph is made, never by
``import vecprop``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from vecprop.activations import Exp, LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from vecprop.network import Network
from vecprop.predictor import Predictor

__all__ = ["to_onnx", "register_skl2onnx", "OPSET"]

OPSET = 13  # the ai.onnx opset of the exported graph: Softmax on one axis, all ops used exist since

_OPS = {Sigmoid: "Sigmoid", Tanh: "Tanh", ReLU: "Relu", Softmax: "Softmax"}  # g → its ONNX operator
_EXPORTABLE = "sigmoid, tanh, relu, leaky_relu, linear, softmax, exp"


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError("ONNX export needs the onnx package: pip install 'vecprop[onnx]'") from None
    return onnx


# ------------------------------------------------------------------------------ what is exported
@dataclass(frozen=True)
class _Spec:
    """A model reduced to what the graph needs: layers, optional input scaling, and the output head."""

    W: tuple  # W[l] of shape (n_l, n_{l-1}), l = 1..L
    b: tuple  # b[l] of shape (n_l,)
    activations: tuple  # Activation objects, layers 1..L
    dtype: np.dtype  # float32 or float64: weights and arithmetic
    head: str  # "network", "regressor", "binary", "argmax" (softmax) or "multilabel"
    classes: np.ndarray | None = None  # the classifier's classes_
    mean: np.ndarray | None = None  # Standardizer (n_0,), applied to X first when given
    scale: np.ndarray | None = None


def _check_activations(activations):
    for l, g in enumerate(activations, start=1):
        if type(g) not in _OPS and type(g) not in (LeakyReLU, Linear, Exp):
            raise ValueError(
                f"layer {l}'s activation {g.name!r} cannot be exported to ONNX: only the built-in "
                f"activations ({_EXPORTABLE}) have ONNX operators, and a registered activation is "
                "Python code; train with a built-in activation to export"
            )


def _dtype(requested, default):
    dtype = np.dtype(default if requested is None else requested)
    if dtype.name not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, got {requested!r}")
    return dtype


def _network_spec(net: Network, dtype) -> _Spec:
    mean = scale = None
    standardizer = net.metadata.get("standardizer")
    if standardizer:
        from vecprop.datasets import Standardizer

        s = Standardizer.from_dict(standardizer)
        if s.n_features != net.layer_dims[0]:
            raise ValueError(
                f"the network's Standardizer has {s.n_features} features but the network takes {net.layer_dims[0]}"
            )
        mean, scale = s.mean.ravel(), s.scale.ravel()
    return _Spec(
        W=tuple(net.params[f"W{l}"] for l in range(1, net.L + 1)),
        b=tuple(net.params[f"b{l}"].ravel() for l in range(1, net.L + 1)),
        activations=tuple(net.activations),
        dtype=_dtype(dtype, net.dtype),
        head="network",
        mean=mean,
        scale=scale,
    )


def _predictor_spec(model, dtype) -> _Spec:
    """What ``vecprop train`` saved: its standardization, then the network, then labels (or values)."""
    spec = _network_spec(model.network, dtype)
    if model.task == "regression":
        return dataclasses.replace(spec, head="regressor")
    head = "argmax" if model.network.activations[-1].name == "softmax" else "binary"
    return dataclasses.replace(spec, head=head, classes=model.label_array())


def _estimator_spec(est, dtype) -> _Spec:
    """From the estimator's public fitted attributes: coefs_, intercepts_, out_activation_, classes_, network_."""
    from sklearn.base import is_classifier
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(est)
    net = est.network_
    if is_classifier(est):
        if est.out_activation_ == "softmax":
            head = "argmax"
        else:
            head = "binary" if est.n_outputs_ == 1 else "multilabel"
        classes = np.asarray(est.classes_)
    else:
        head, classes = "regressor", None
    return _Spec(
        W=tuple(np.asarray(c).T for c in est.coefs_),
        b=tuple(np.asarray(i) for i in est.intercepts_),
        activations=tuple(net.activations),
        dtype=_dtype(dtype, net.dtype),
        head=head,
        classes=classes,
    )


def _spec(model, dtype) -> _Spec:
    if isinstance(model, Predictor):
        spec = _predictor_spec(model, dtype)
    elif isinstance(model, Network):
        spec = _network_spec(model, dtype)
    elif {"DNNClassifier", "DNNRegressor"} & {c.__name__ for c in type(model).__mro__}:
        spec = _estimator_spec(model, dtype)
    else:
        raise ValueError(
            f"to_onnx exports a vecprop Network, DNNClassifier or DNNRegressor, got "
            f"{type(model).__name__}; for a scikit-learn Pipeline call vecprop.register_skl2onnx() "
            "and then skl2onnx.to_onnx(pipeline, X[:1])"
        )
    _check_activations(spec.activations)
    return spec


def _label_array(classes) -> np.ndarray:
    """classes_ as skl2onnx types a label: strings stay strings, integer (or bool, or whole float) labels int64."""
    classes = np.asarray(classes)
    if classes.dtype.kind in "USO":
        if not all(isinstance(c, str) for c in classes.tolist()):
            raise ValueError(
                "class labels mix strings with other types; encode them all as strings or all as integers to export"
            )
        return np.array(classes.tolist(), dtype=object)
    if classes.dtype.kind not in "iubf" or np.any(classes != np.round(classes)):
        raise ValueError(
            f"class labels {classes.tolist()} cannot be an ONNX label: ONNX classifiers label with "
            "int64 or strings; encode the labels as integers or strings"
        )
    return classes.astype(np.int64)


# ------------------------------------------------------------------------------ the graph
class _Graph:
    """Nodes ``(op_type, inputs, outputs, attrs)`` and initializers ``(name, array)`` in emission order.

    ``unique(hint) -> name`` makes names unique: locally for :func:`to_onnx`, skl2onnx's scope for a
    pipeline, so the same code writes both graphs.
    """

    def __init__(self, dtype, unique=None):
        self.dtype = np.dtype(dtype)
        self.nodes, self.initializers = [], []
        self._taken = set()
        self._unique = unique or self._local

    def _local(self, hint):
        name, k = hint, 1
        while name in self._taken:
            name, k = f"{hint}_{k}", k + 1
        self._taken.add(name)
        return name

    def const(self, hint, array):
        name = self._unique(hint)
        self.initializers.append((name, np.asarray(array)))
        return name

    def op(self, op_type, inputs, hint, out=None, **attrs):
        out = out or self._unique(hint)
        self.nodes.append((op_type, list(inputs), [out], attrs))
        return out


def _activation(g: _Graph, act, Z, l):
    """A[l].T = g(Z[l].T), eq. (1), on rows."""
    if isinstance(act, Linear):
        return Z
    if isinstance(act, LeakyReLU):  # max(Z, slope·Z), as vecprop computes it (slope in the graph's dtype)
        slope = g.const(f"slope{l}", np.array(act.slope, dtype=g.dtype))
        return g.op("Max", [Z, g.op("Mul", [Z, slope], f"slope_Z{l}")], f"A{l}")
    if isinstance(act, Exp):  # e^min(Z, cap), the cap just below overflow, as vecprop computes it
        cap = g.const(f"cap{l}", np.array(np.log(np.finfo(g.dtype).max) * (1 - 1e-6), dtype=g.dtype))
        return g.op("Exp", [g.op("Min", [Z, cap], f"capped_Z{l}")], f"A{l}")
    attrs = {"axis": 1} if isinstance(act, Softmax) else {}  # softmax over each example's n_L units
    return g.op(_OPS[type(act)], [Z], f"A{l}", **attrs)


def _forward(g: _Graph, spec: _Spec, X):
    """Eqs. (1)(2) for layers 1..L on rows X (N, n_0); returns the names of Z[L].T and A[L].T."""
    A = X
    if spec.mean is not None:
        mean = g.const("mean", spec.mean.astype(g.dtype))
        scale = g.const("scale", spec.scale.astype(g.dtype))
        A = g.op("Div", [g.op("Sub", [A, mean], "X_centered"), scale], "A0")
    for l, (W, b, act) in enumerate(zip(spec.W, spec.b, spec.activations), start=1):
        W_l = g.const(f"W{l}", np.asarray(W, dtype=g.dtype))  # (n_l, n_{l-1})
        b_l = g.const(f"b{l}", np.asarray(b, dtype=g.dtype))  # (n_l,)
        Z = g.op("Gemm", [A, W_l, b_l], f"Z{l}", transB=1)  # eq. (2): (N, n_l)
        A = _activation(g, act, Z, l)
    return Z, A


def _classifier_head(g: _Graph, spec: _Spec, Z, A, labels, out_label, out_proba):
    """``label`` and ``probabilities`` as DNNClassifier's predict / predict_proba compute them."""
    int64 = _onnx().TensorProto.INT64
    if spec.head in ("binary", "multilabel"):
        half = g.const("half", np.array(0.5, dtype=g.dtype))
    if spec.head == "binary":  # one sigmoid unit: [σ(−z), σ(z)], label classes_[σ(z) > ½]
        p0 = g.op("Sigmoid", [g.op("Neg", [Z], "neg_Z")], "p0")
        g.op("Concat", [p0, A], "probabilities", out=out_proba, axis=1)
        index = g.op("Cast", [g.op("Greater", [A, half], "positive")], "label_index_2d", to=int64)
        index = g.op("Reshape", [index, g.const("flat", np.array([-1], dtype=np.int64))], "label_index")
    elif spec.head == "multilabel":  # one sigmoid per label: indicators A > ½
        g.op("Identity", [A], "probabilities", out=out_proba)
        g.op("Cast", [g.op("Greater", [A, half], "positive")], "label", out=out_label, to=int64)
        return
    else:  # softmax: the most probable class
        g.op("Identity", [A], "probabilities", out=out_proba)
        index = g.op("ArgMax", [A], "label_index", axis=1, keepdims=0)
    g.op("Gather", [g.const("classes", labels), index], "label", out=out_label, axis=0)


# ------------------------------------------------------------------------------ to_onnx
def _value_info(onnx, name, array_dtype, shape):
    array_dtype = np.dtype(array_dtype)
    elem = onnx.TensorProto.STRING if array_dtype.kind == "O" else onnx.helper.np_dtype_to_tensor_dtype(array_dtype)
    return onnx.helper.make_tensor_value_info(name, elem, shape)


def _tensor(onnx, name, array):
    if array.dtype == object:  # strings
        return onnx.helper.make_tensor(
            name, onnx.TensorProto.STRING, array.shape, [s.encode("utf-8") for s in array.tolist()]
        )
    return onnx.numpy_helper.from_array(array, name)


def to_onnx(model, path=None, *, dtype=None):
    """Export a Network, DNNClassifier or DNNRegressor as an ONNX model (opset 13).

    Parameters
    ----------
    model : Network, or a fitted DNNClassifier / DNNRegressor
    path : str or os.PathLike, optional
        Also write the model there (atomically: a failure leaves no half-written file).
    dtype : "float32" or "float64", optional
        Of the input, weights and outputs; default the network's own.

    Returns
    -------
    onnx.ModelProto
        Input ``X`` of shape (N, n_0), N dynamic. Outputs ``AL`` (N, n_L) for a Network;
        ``label`` (N,) and ``probabilities`` (N, n_classes) for a classifier; ``variable``
        (N, n_outputs) for a regressor.

    Raises
    ------
    ValueError
        For a layer with a custom activation (it has no ONNX operator), an unfitted estimator, class
        labels ONNX cannot hold, a dtype other than float32/float64, or another kind of model.
    ImportError
        If the onnx package is missing.
    """
    onnx = _onnx()
    spec = _spec(model, dtype)
    g = _Graph(spec.dtype)
    X = g._unique("X")
    Z, A = _forward(g, spec, X)
    n_0, n_L = spec.W[0].shape[1], spec.W[-1].shape[0]
    if spec.head in ("network", "regressor"):
        name = "AL" if spec.head == "network" else "variable"
        g.op("Identity", [A], name, out=g._unique(name))
        outputs = [_value_info(onnx, name, spec.dtype, ["N", n_L])]
    else:
        labels = _label_array(spec.classes)
        n_classes = 2 if spec.head == "binary" else n_L
        _classifier_head(g, spec, Z, A, labels, g._unique("label"), g._unique("probabilities"))
        label_shape = ["N", n_L] if spec.head == "multilabel" else ["N"]
        label_dtype = np.int64 if spec.head == "multilabel" else labels.dtype
        outputs = [
            _value_info(onnx, "label", label_dtype, label_shape),
            _value_info(onnx, "probabilities", spec.dtype, ["N", n_classes]),
        ]
    helper = onnx.helper
    nodes = [helper.make_node(op, inputs, outs, name=f"{op}_{outs[0]}", **attrs) for op, inputs, outs, attrs in g.nodes]
    graph = helper.make_graph(
        nodes,
        "vecprop",
        [_value_info(onnx, X, spec.dtype, ["N", n_0])],
        outputs,
        initializer=[_tensor(onnx, name, array) for name, array in g.initializers],
    )
    opsets = [helper.make_opsetid("", OPSET)]
    proto = helper.make_model(
        graph,
        opset_imports=opsets,
        producer_name="vecprop",
        ir_version=helper.find_min_ir_version_for(opsets),
        doc_string=f"{type(model).__name__} with layer_dims "
        f"{[n_0, *(W.shape[0] for W in spec.W)]}, exported by vecprop",
    )
    from vecprop import __version__

    proto.producer_version = __version__
    onnx.checker.check_model(proto, full_check=True)
    if path is not None:
        from vecprop.io import atomic_write

        atomic_write(path, proto.SerializeToString())
    return proto


# ------------------------------------------------------------------------------ skl2onnx
def _skl2onnx_types(operator):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    kind = type(operator.inputs[0].type)
    if kind not in (FloatTensorType, DoubleTensorType):
        raise ValueError(
            f"{type(operator.raw_operator).__name__} takes float or double input in ONNX, got "
            f"{operator.inputs[0].type}; cast X to float32 or float64"
        )
    return kind, (np.float64 if kind is DoubleTensorType else np.float32)


def _skl2onnx_shapes(operator):
    """skl2onnx shape calculator: label (N,) or (N, n_labels), probabilities (N, n_classes); variable (N, n)."""
    kind, _ = _skl2onnx_types(operator)
    N = operator.inputs[0].get_first_dimension()
    spec = _estimator_spec(operator.raw_operator, None)
    n_L = spec.W[-1].shape[0]
    if spec.head == "regressor":
        operator.outputs[0].type = kind([N, n_L])
        return
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    strings = spec.head != "multilabel" and _label_array(spec.classes).dtype == object
    label_type = StringTensorType if strings else Int64TensorType
    operator.outputs[0].type = label_type([N, n_L] if spec.head == "multilabel" else [N])
    operator.outputs[1].type = kind([N, 2 if spec.head == "binary" else n_L])


def _skl2onnx_convert(scope, operator, container):
    """skl2onnx converter: the same nodes as :func:`to_onnx`, named in skl2onnx's scope."""
    if container.target_opset < OPSET:
        raise ValueError(f"vecprop's ONNX converters need target_opset >= {OPSET}, got {container.target_opset}")
    _, dtype = _skl2onnx_types(operator)
    spec = _estimator_spec(operator.raw_operator, dtype)
    zipmap = (
        spec.head not in ("regressor", "multilabel")
        and container.get_options(operator.raw_operator, dict(zipmap=True))["zipmap"] is not False
    )
    if zipmap and dtype == np.float64:
        raise ValueError(
            "ONNX's ZipMap takes float32 probabilities only: convert a float64 pipeline with "
            "options={'zipmap': False}, or pass float32 X"
        )
    _check_activations(spec.activations)
    g = _Graph(dtype, unique=scope.get_unique_variable_name)
    Z, A = _forward(g, spec, operator.inputs[0].full_name)
    outs = [v.full_name for v in operator.outputs]
    if spec.head == "regressor":
        g.op("Identity", [A], "variable", out=outs[0])
    else:
        _classifier_head(g, spec, Z, A, _label_array(spec.classes), outs[0], outs[1])
    onnx = _onnx()
    for name, array in g.initializers:
        if array.dtype == object:  # strings have no raw_data for skl2onnx to copy
            container.add_initializer(name, onnx.TensorProto.STRING, list(array.shape), array.tolist())
        else:
            container.add_initializer(name, None, None, onnx.numpy_helper.from_array(array, name))
    for op, inputs, outputs, attrs in g.nodes:
        container.add_node(op, inputs, outputs, op_version=OPSET, name=scope.get_unique_operator_name(op), **attrs)


def register_skl2onnx() -> None:
    """Register DNNClassifier and DNNRegressor with skl2onnx (idempotent).

    Afterwards ``skl2onnx.to_onnx(pipeline, X[:1])`` converts a Pipeline that contains them; for a
    classifier the outputs are ``label`` and ``probabilities`` (a ZipMap of them unless
    ``options={"zipmap": False}``), as for scikit-learn's MLPClassifier. ONNX's ZipMap takes float
    probabilities only: convert a float64 pipeline with ``zipmap=False``.

    Raises
    ------
    ImportError
        If skl2onnx (``pip install skl2onnx``) or scikit-learn is missing.
    """
    try:
        from skl2onnx import update_registered_converter
    except ImportError:
        raise ImportError("converting a pipeline needs skl2onnx: pip install skl2onnx") from None
    from vecprop import DNNClassifier, DNNRegressor

    update_registered_converter(
        DNNClassifier,
        "VecpropDNNClassifier",
        _skl2onnx_shapes,
        _skl2onnx_convert,
        options={"zipmap": [True, False, "columns"], "nocl": [False]},
    )
    update_registered_converter(DNNRegressor, "VecpropDNNRegressor", _skl2onnx_shapes, _skl2onnx_convert)
