"""The one registry style of vecprop's named components, and their hyperparameter checks.

Activations, losses, initializers, engines, optimizers and schedules each keep one ``Registry``;
it owns the plain dict the module exposes (``ACTIVATIONS``, ``LOSSES``, ``INITIALIZERS``,
``ENGINES``, ``OPTIMIZERS``, ``SCHEDULES``), registration, and the lookup of a name::

    _REGISTRY = Registry("optimizer", Optimizer, "gd", (GD, Adam), "a name, an Optimizer or a dict")
    OPTIMIZERS = _REGISTRY.classes
    _REGISTRY.get({"name": "adam", "beta1": 0.8})   # Adam(beta1=0.8, ...)

Optimizers and schedules register frozen-dataclass classes (``register``) and are looked up
case-insensitively with checked hyperparameters (``get``/``build``). Activations, losses,
initializers and engines register any factory under a name (``add``: a class, a parametrised
dataclass such as ``LeakyReLU``, or a function returning a user's registered instance) and are
looked up by their exact name (``lookup``/``create``).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

__all__ = ["Registry", "check_int", "check_real"]

T = TypeVar("T")


def check_real(owner: str, name: str, value: Any, low: float, high: float, low_open: bool, high_open: bool) -> float:
    """Return ``value`` as a Python float, or raise ValueError naming it and its valid range.

    Parameters
    ----------
    owner : str
        Who the value belongs to, for the message (``"optimizer 'adam'"``).
    name : str
        The hyperparameter's name.
    value : object
        The value to check; a real number, not a bool, not NaN.
    low, high : float
        The interval's ends (``high`` may be ``math.inf``).
    low_open, high_open : bool
        Whether each end is excluded.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``"<owner>: <name> must be a number in [low, high), got <value>"``.
    """
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    interval = f"{lo}{low:g}, {'inf' if math.isinf(high) else f'{high:g}'}{hi}"
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = not math.isnan(value)
        ok = ok and (value > low if low_open else value >= low)
        ok = ok and (value < high if high_open else value <= high)
    if not ok:
        raise ValueError(f"{owner}: {name} must be a number in {interval}, got {value!r}")
    return value


def check_int(owner: str, name: str, value: Any, minimum: int) -> int:
    """Return ``value`` as an int, or raise ValueError naming it and its minimum.

    Parameters
    ----------
    owner, name : str
        As for ``check_real``.
    value : object
        An integral number, not a bool.
    minimum : int
        The smallest value allowed.

    Returns
    -------
    int

    Raises
    ------
    ValueError
        ``"<owner>: <name> must be an integer >= <minimum>, got <value>"``.
    """
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class Registry(Generic[T]):
    """Registry of frozen-dataclass subclasses of ``base``, keyed by their ``name`` attribute.

    Parameters
    ----------
    kind : str
        What the components are, for messages (``"optimizer"``, ``"activation"``).
    base : type
        The base class every registered class (or instance a factory returns) belongs to.
    default : str or None
        The name that a ``None`` spec builds (``get`` only).
    classes : iterable of type, or dict of str to callable
        The built-ins: classes registered under their ``name``, or a ``{name: factory}`` dict.
    accepted : str
        The accepted spec types for ``get``'s TypeError (``"a name, an Optimizer or a dict"``).

    Attributes
    ----------
    classes : dict of str to type or callable
        The registry itself, a plain dict that callers may expose, read and mutate.
    """

    def __init__(
        self,
        kind: str,
        base: type[T],
        default: str | None = None,
        classes: Iterable[type[T]] | dict[str, Callable[..., Any]] = (),
        accepted: str = "a name",
    ) -> None:
        self.kind = kind
        self.base = base
        self.default = default
        self.accepted = accepted
        self.classes: dict[str, Any] = (
            dict(classes) if isinstance(classes, dict) else {cls.name: cls for cls in classes}
        )

    def _expected(self) -> str:
        """The sorted registered names, comma-separated."""
        return ", ".join(sorted(self.classes))

    def register(self, name: str, cls: type[T]) -> type[T]:
        """Add ``cls`` under ``name``.

        Parameters
        ----------
        name : str
            The registry key; must equal ``cls.name`` so that ``get_config`` round-trips.
        cls : subclass of ``base``
            A frozen dataclass.

        Returns
        -------
        cls : the class, unchanged.

        Raises
        ------
        ValueError
            If ``cls`` is not a dataclass subclass of ``base``, ``cls.name != name``, or
            ``name`` is already registered.
        """
        kind, base = self.kind, self.base
        if not (isinstance(cls, type) and issubclass(cls, base) and dataclasses.is_dataclass(cls)):
            raise ValueError(
                f"cannot register {cls!r} as {kind} '{name}': it must be a "
                f"@dataclass(frozen=True) subclass of "
                f"{base.__module__}.{base.__qualname__}"
            )
        if cls.name != name:
            raise ValueError(
                f"cannot register {cls.__name__} as {kind} '{name}': its class "
                f"attribute name is {cls.name!r}; set name = {name!r} on the class"
            )
        if name in self.classes:
            raise ValueError(
                f"{kind} '{name}' is already registered (to {self.classes[name].__name__}); choose another name"
            )
        self.classes[name] = cls
        return cls

    def add(self, name: str, factory: Callable[..., Any], *, overwrite: bool = False) -> Callable[..., Any]:
        """Add ``factory`` (a class, or a callable returning a component) under ``name``.

        Parameters
        ----------
        name : str
            The registry key, looked up exactly (case-sensitive).
        factory : callable
            What ``create(name, params)`` calls with ``**params``.
        overwrite : bool
            Replace an entry already under ``name``.

        Returns
        -------
        factory : unchanged.

        Raises
        ------
        ValueError
            ``"<kind> '<name>' is already registered; pass overwrite=True to replace it"``.
        """
        if name in self.classes and not overwrite:
            raise ValueError(f"{self.kind} '{name}' is already registered; pass overwrite=True to replace it")
        self.classes[name] = factory
        return factory

    def lookup(self, name: Any) -> Callable[..., Any]:
        """The entry registered under exactly ``name``.

        Raises
        ------
        ValueError
            ``"unknown <kind> <name!r>; expected one of: <sorted names>"``.
        """
        if not isinstance(name, str) or name not in self.classes:
            raise ValueError(f"unknown {self.kind} {name!r}; expected one of: {self._expected()}")
        return self.classes[name]

    def create(self, name: Any, params: dict[str, Any] | None = None) -> T:
        """Call the entry registered under exactly ``name`` with ``**params``.

        Raises
        ------
        ValueError
            As ``lookup``, or ``"bad parameters <params> for <kind> '<name>': ..."`` when the
            entry does not take ``params``.
        """
        factory = self.lookup(name)
        params = params or {}
        try:
            return factory(**params)
        except TypeError as exc:
            raise ValueError(f"bad parameters {params} for {self.kind} '{name}': {exc}") from None

    def build(self, name: Any, hyperparams: dict[str, Any]) -> T:
        """Construct the registered class ``name`` (case-insensitive) with ``hyperparams``.

        Parameters
        ----------
        name : str
            A registry name.
        hyperparams : dict
            Keyword arguments for the class; each must be one of its dataclass fields.

        Returns
        -------
        An instance of the registered class.

        Raises
        ------
        ValueError
            For an unknown name or hyperparameter, listing the valid ones.
        """
        key = name.lower() if isinstance(name, str) else name
        if key not in self.classes:
            raise ValueError(f"unknown {self.kind} {name!r}; expected one of: {self._expected()}")
        cls = self.classes[key]
        allowed = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(hyperparams) - set(allowed))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter {unknown[0]!r} for {self.kind} '{key}'; "
                f"expected one of: {', '.join(allowed) or '(none)'}"
            )
        return cls(**hyperparams)

    def get(self, spec: Any = None, **overrides: Any) -> T:
        """Return the instance that ``spec`` names.

        Parameters
        ----------
        spec : str, instance of ``base``, dict or None
            A registry name (case-insensitive), an instance (returned as is without
            overrides), a dict ``{"name": ..., **hyperparameters}`` as ``get_config``
            returns, or None for ``default``.
        **overrides
            Hyperparameters that replace those in ``spec``.

        Returns
        -------
        An instance of a registered class.

        Raises
        ------
        ValueError
            As ``build``, or for a dict without ``"name"``.
        TypeError
            If ``spec`` is none of the accepted types.
        """
        if spec is None:
            return self.build(self.default, overrides)
        if isinstance(spec, self.base):
            if not overrides:
                return spec
            return self.build(spec.name, {**dataclasses.asdict(spec), **overrides})
        if isinstance(spec, str):
            return self.build(spec, overrides)
        if isinstance(spec, dict):
            if "name" not in spec:
                raise ValueError(f"{self.kind} spec {spec!r} has no 'name'; expected one of: {self._expected()}")
            hyperparams = {k: v for k, v in spec.items() if k != "name"}
            return self.build(spec["name"], {**hyperparams, **overrides})
        raise TypeError(f"{self.kind} must be {self.accepted}, got {type(spec).__name__}")
