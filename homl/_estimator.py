"""The scikit-learn contract, checked in one place for every homl estimator.

``fit`` first checks the parameters against the class's ``_parameter_constraints``
(scikit-learn's constraint objects: an error names the parameter, the value given and
what was expected), then the input with ``validate_data``, which records
``n_features_in_`` and ``feature_names_in_``; ``transform`` and ``predict`` check that
``fit`` ran and hold their input to the same width and column names.

An estimator that reads its columns by name, or hands a DataFrame's dtypes on to a
model, gets its table as given, never converted to an array: only its width and column
names are checked.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

fitting = _fit_context(prefer_skip_nested_validation=True)
"""Decorates a ``fit`` (or ``fit_transform``): the parameters are validated before it runs."""
fitting_around = _fit_context(prefer_skip_nested_validation=False)
"""Decorates the ``fit`` of a meta-estimator: the estimator it is given validates its own parameters."""


class Estimator(BaseEstimator):
    """Parameters validated when fitting starts; inputs checked as scikit-learn checks them.

    ``_input_check`` holds the ``check_array`` options for the input; with ``_keep_tables``
    a DataFrame passes as given (its columns are read by name, or its dtypes matter to the
    model after it); with ``_table`` an array comes back as a DataFrame.
    """

    _parameter_constraints: dict[str, list[Any]] = {}
    _input_check: dict[str, Any] = {}
    _keep_tables = False
    _table = False

    def _check_input(self, X: Any, *, reset: bool) -> Any:
        """``X`` checked: recorded while fitting (``reset``), else held to what fitting saw."""
        if not reset:
            check_is_fitted(self)
        if self._keep_tables and isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            return X
        X = validate_data(self, X, reset=reset, **self._input_check)
        return self._named(X) if self._table else X

    def _as_table(self, X: Any) -> pd.DataFrame:
        """``X`` as a DataFrame: an array's columns take the names seen in fitting, else x0, x1..."""
        return X if isinstance(X, pd.DataFrame) else self._named(check_array(X, **self._input_check))

    def _named(self, values: Any) -> pd.DataFrame:
        """A checked 2-D array as a DataFrame, its columns named as in fitting (else x0, x1...)."""
        names = getattr(self, "feature_names_in_", None)
        if names is None or len(names) != values.shape[1]:
            names = [f"x{i}" for i in range(values.shape[1])]
        return pd.DataFrame(values, columns=list(names))


class Transformer(TransformerMixin, Estimator):
    """``fit`` checks, then learns in ``_fit``; ``transform`` checks, then applies ``_transform``.

    The default ``_fit`` learns nothing: a stateless step only records its input columns.
    """

    @fitting
    def fit(self, X: Any, y: Any = None) -> Transformer:
        self._fit(self._check_input(X, reset=True), y)
        return self

    def transform(self, X: Any) -> Any:
        return self._transform(self._check_input(X, reset=False))

    def _fit(self, X: Any, y: Any) -> None:
        pass

    def _transform(self, X: Any) -> Any:
        raise NotImplementedError
