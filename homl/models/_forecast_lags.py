"""A global forecaster: one regressor learned across every series on lag features.

This is the approach of the "linear model on 56 lags" and of the LightGBM models that won the M5
competition: every step of every series becomes a training row whose features are known at the
forecast origin (the target's recent values, their rolling means and spreads, the calendar of the
step predicted, the covariates known in advance), and whose label is the value that followed.

Scale and trend. Every row is expressed relative to the series at its origin: with ``m`` the mean of
the last season of values (the last value when there is no season) and ``s`` the mean absolute value
over the lag window, the lags and the label are ``(y - m) / s``. A series of thousands and one of
units then give alike rows, and the model predicts a change from the current level rather than a
level, so trees (which cannot extrapolate) follow a trend as well as they forecast a stationary
series. With ``target_transform="log1p"`` (chosen by ``"auto"`` for non-negative, strongly skewed
series) the values are first replaced by ``log1p(y)`` and ``s`` is 1: the label is a log ratio.

Past-only covariates (``past``) are lagged 1..k steps at the origin (k up to a season, at most 7).
The direct strategy (one model per step ahead) reads them for every step. The recursive strategy
(one one-step model, its forecasts fed back as lags) cannot roll them forward, so it learns two
models: one with them, used for the first step only, and one without, used for the later steps.
"""

from __future__ import annotations

from inspect import signature
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.base import BaseEstimator, clone

from homl.data import SeriesData, future_index
from homl.errors import ConfigError, DataError

from ._forecast_base import Forecaster, check_horizon

#: At most this many distinct models in the direct strategy; longer horizons share a model per group of steps.
MAX_DIRECT_MODELS = 28
#: Fewest training rows (all series together) a fit accepts.
MIN_TRAIN_ROWS = 30

_LIGHTGBM_DEFAULTS: dict[str, Any] = {
    "n_estimators": 500, "learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 20, "subsample": 0.8,
    "subsample_freq": 1, "colsample_bytree": 0.8, "n_jobs": 1, "verbose": -1,
}
_DAY = pd.Timedelta(days=1)
#: Calendar parts: name -> (longest step at which the part still varies, cycle length for sin/cos or 0).
_CALENDAR: dict[str, tuple[pd.Timedelta, float]] = {
    "hour": (_DAY, 24.0),
    "day_of_week": (7 * _DAY, 7.0),
    "day": (7 * _DAY, 31.0),
    "week_of_year": (28 * _DAY, 0.0),
    "month": (365 * _DAY, 12.0),
    "day_of_year": (28 * _DAY, 365.25),
}


class LagForecaster(Forecaster):
    """One regressor for every series, on lags of the target, rolling statistics, calendar and covariates.

    ``regressor``: ``"lightgbm"``, ``"ridge"`` (standardised features) or any scikit-learn regressor;
    ``params`` override the defaults of the named ones. ``lags``: None (1..L with L = max(2 * season, 14),
    at most 60 and half the shortest series, plus the season and twice it when they fit), a count or
    a list of lags. ``strategy``: ``"recursive"`` (one one-step model, fed its own forecasts) or
    ``"direct"`` (one model per step ahead up to ``max_horizon``, None: max(2 * season, 28) within what
    the data allows; steps beyond are forecast again from the forecasts, block after block).
    ``target_transform``: ``"auto"``, ``"none"`` or ``"log1p"``. LightGBM stops early on the last 10% of
    origins, then is refit on every row with the best number of rounds, ``bags`` times with as many
    seeds (their mean forecasts; the direct strategy fits one per step). Training keeps the
    ``max_train_rows`` most recent rows.
    """

    name = "lag_lightgbm"
    display = "LightGBM on lags"
    uses_known = True
    uses_past = True

    def __init__(self, regressor: Any = "lightgbm", lags: int | list[int] | None = None,
                 strategy: str = "recursive", rolling: bool = True, calendar: bool = True,
                 target_transform: str = "auto", max_train_rows: int = 200_000, max_horizon: int | None = None,
                 params: dict[str, Any] | None = None, bags: int = 3, random_state: int | None = 0):
        self.regressor = regressor
        self.lags = lags
        self.strategy = strategy
        self.rolling = rolling
        self.calendar = calendar
        self.target_transform = target_transform
        self.max_train_rows = max_train_rows
        self.max_horizon = max_horizon
        self.params = params
        self.bags = bags
        self.random_state = random_state

    # ------------------------------------------------------------------ settings read off the data

    def _layout(self, data: SeriesData) -> dict[str, Any]:
        """Lags, windows and history needed for ``data`` (what ``fit`` will use)."""
        if self.strategy not in ("recursive", "direct"):
            raise ConfigError(f"strategy must be 'recursive' or 'direct'; got {self.strategy!r}")
        if isinstance(self.bags, bool) or not isinstance(self.bags, (int, np.integer)) or self.bags < 1:
            raise ConfigError(f"bags must be a whole number of at least 1; got {self.bags!r}")
        if not data.ids:
            raise DataError("there is no series to learn from")
        season = max(int(data.season), 1)
        shortest = min(data.length(s) for s in data.ids)
        cap = max(shortest // 2, 1)
        if self.lags is None:
            top = max(1, min(max(2 * season, 14), 60, cap))
            lags = list(range(1, top + 1)) + [k for k in (season, 2 * season) if season > 1 and top < k <= cap]
        elif isinstance(self.lags, (int, np.integer)) and not isinstance(self.lags, bool):
            lags = list(range(1, int(self.lags) + 1))
        else:
            lags = sorted({int(k) for k in self.lags})
        if not lags or lags[0] < 1:
            raise ConfigError(f"lags must be whole numbers of at least 1; got {self.lags!r}")
        span = max(lags)
        scale_window = span
        level_window = min(season, span) if season > 1 else 1
        windows: list[int] = []
        if self.rolling:
            daily = _step(data) == _DAY
            wanted = (7, 28) if daily else ((season, 2 * season) if season > 1 else (7, 14))
            windows = sorted({w for w in wanted if 2 <= w <= max(span, cap)})
        past_lags = min(season if season > 1 else 3, 7, span) if data.past_names else 0
        need = max([span, level_window, scale_window, past_lags] + windows)
        return {"lags": lags, "windows": windows, "level_window": level_window, "scale_window": scale_window,
                "past_lags": past_lags, "need": need, "season": season}

    def _direct_steps(self, data: SeriesData, need: int) -> int:
        """How many steps ahead the direct models are learned for."""
        season = max(int(data.season), 1)
        wanted = self.max_horizon if self.max_horizon is not None else max(2 * season, 28)
        longest = max(data.length(s) for s in data.ids)
        return int(max(1, min(wanted, (longest - need) // 2)))

    def unsuitable(self, data: SeriesData, horizon: int) -> str | None:
        if not data.ids:
            return "needs at least one series"
        layout = self._layout(data)
        need = layout["need"]
        shortest = min(data.length(s) for s in data.ids)
        if shortest < need:
            return f"needs {need} steps of history in every series (its lags); the shortest series has {shortest}"
        steps = 1 if self.strategy == "recursive" else min(horizon, self._direct_steps(data, need))
        rows = sum(max(0, data.length(s) - need - steps + 1) for s in data.ids)
        if rows < MIN_TRAIN_ROWS:
            total = sum(data.length(s) for s in data.ids)
            return (f"needs at least {MIN_TRAIN_ROWS} training rows, each {need} steps of history and "
                    f"{steps} step(s) to predict; the series give {rows} ({total} steps in all)")
        return None

    # ------------------------------------------------------------------ fit

    def fit(self, data: SeriesData) -> LagForecaster:
        if self.target_transform not in ("auto", "none", "log1p"):
            raise ConfigError(f"target_transform must be 'auto', 'none' or 'log1p'; got {self.target_transform!r}")
        self._make_regressor()
        reason = self.unsuitable(data, 1)
        if reason:
            raise DataError(f"{type(self).__name__} cannot learn from these series: it {reason}")
        layout = self._layout(data)
        self.lags_: list[int] = layout["lags"]
        self.windows_: list[int] = layout["windows"]
        self.level_window_: int = layout["level_window"]
        self.scale_window_: int = layout["scale_window"]
        self.past_lags_: int = layout["past_lags"]
        self.need_: int = layout["need"]
        self.season_: int = layout["season"]
        self.freq_: str = str(data.freq)
        self.known_names_: list[str] = list(data.known_names)
        self.past_names_: list[str] = list(data.past_names)
        self.transform_: str = self._choose_transform(data)
        self.calendar_: list[str] = self._choose_calendar(data) if self.calendar else []
        self.ids_: dict[str, int] = {s: i for i, s in enumerate(data.ids)}
        self.use_id_: bool = _is_lightgbm(self.regressor) and len(data.ids) > 1
        self.feature_names_: list[str] = self._names(with_past=bool(self.past_names_))

        if self.strategy == "recursive":
            self.max_horizon_ = 1
            rows = self._rows(data, [1])
            with_past = self.past_lags_ > 0
            self.model_ = self._train(rows, with_past=False)
            self.first_model_ = self._train(rows, with_past=True) if with_past else None
            self.n_train_rows_ = int(len(rows["y"]))
        else:
            self.max_horizon_ = self._direct_steps(data, self.need_)
            self.groups_: list[list[int]] = [
                [int(h) for h in g] for g in np.array_split(np.arange(1, self.max_horizon_ + 1),
                                                            min(self.max_horizon_, MAX_DIRECT_MODELS))]
            self.models_: list[Any] = []
            counts = []
            for group in self.groups_:
                rows = self._rows(data, group)
                self.models_.append(self._train(rows, with_past=True))
                counts.append(len(rows["y"]))
            self.n_train_rows_ = int(sum(counts))
        return self

    def _choose_transform(self, data: SeriesData) -> str:
        if self.target_transform != "auto":
            return self.target_transform
        values = [data.y[s] for s in data.ids]
        if min(float(v.min()) for v in values) < 0:
            return "none"
        skews = [abs(float(pd.Series(v).skew())) for v in values if len(v) > 2 and np.ptp(v) > 0]
        return "log1p" if skews and float(np.median(skews)) > 1.0 else "none"

    def _choose_calendar(self, data: SeriesData) -> list[str]:
        step = _step(data)
        stamps = pd.DatetimeIndex(np.concatenate([data.time[s].values for s in data.ids]))
        parts = _calendar_parts(stamps, list(_CALENDAR))
        return [name for name, (longest, _) in _CALENDAR.items()
                if step < longest and len(np.unique(parts[name])) > 1]

    def _names(self, with_past: bool) -> list[str]:
        names = [f"lag_{k}" for k in self.lags_]
        for w in self.windows_:
            names += [f"mean_{w}", f"std_{w}"]
        for part in self.calendar_:
            names.append(part)
            if _CALENDAR[part][1]:
                names += [f"{part}_sin", f"{part}_cos"]
        for k in self.known_names_:
            names += [k, f"{k}_prev"]
        names.append("step")
        if self.use_id_:
            names.append("series")
        if with_past:
            names += [f"{p}_lag_{j}" for p in self.past_names_ for j in range(1, self.past_lags_ + 1)]
        return names

    def _rows(self, data: SeriesData, steps: list[int]) -> dict[str, Any]:
        """The training rows for predicting ``steps`` ahead, all series together: features, label, origin and
        target times (the ``max_train_rows`` with the latest targets)."""
        need, k = self.need_, self.past_lags_
        parts = []  # (series, transformed target, step, origins)
        for series in data.ids:
            v = self._forward(data.y[series], series)
            for h in steps:
                if len(v) - need - h + 1 > 0:
                    parts.append((series, v, h, np.arange(need - 1, len(v) - h)))
        if not parts:
            raise DataError("the series are too short to give a single training row")
        sizes = [len(origin) for *_, origin in parts]
        if sum(sizes) > self.max_train_rows:
            stamps = np.concatenate([_nanoseconds(data.time[s][o + h]) for s, _, h, o in parts])
            keep = np.zeros(len(stamps), dtype=bool)
            keep[np.argsort(stamps, kind="stable")[-int(self.max_train_rows):]] = True
            bounds = np.cumsum([0] + sizes)
            parts = [(s, v, h, o[keep[a:b]]) for (s, v, h, o), a, b in zip(parts, bounds[:-1], bounds[1:])]
            parts = [part for part in parts if len(part[3])]
        cols: dict[str, list[Any]] = {key: [] for key in ("W", "y", "P", "known", "prev", "time", "step", "code")}
        for series, v, h, origin in parts:
            target = origin + h
            cols["W"].append(sliding_window_view(v, need)[origin - need + 1])
            cols["y"].append(v[target])
            if k:
                cols["P"].append(sliding_window_view(data.past[series], k, axis=0)[origin - k + 1])
            if self.known_names_:
                cols["known"].append(data.known[series][target])
                cols["prev"].append(data.known[series][target - 1])
            cols["time"].append(np.stack([_nanoseconds(data.time[series][origin]),
                                          _nanoseconds(data.time[series][target])], axis=1))
            cols["step"].append(np.full(len(origin), h))
            cols["code"].append(np.full(len(origin), self.ids_.get(series, -1)))
        joined = {key: np.concatenate(value) if value else None for key, value in cols.items()}
        t_origin, t_target = joined["time"][:, 0], joined["time"][:, 1]
        X, m, s = self._features(joined["W"], pd.DatetimeIndex(t_target.astype("datetime64[ns]")), joined["known"],
                                 joined["prev"], joined["step"], joined["code"], None)
        X_past = self._past_features(joined["P"]) if k else None
        return {"X": X, "X_past": X_past, "y": (joined["y"] - m) / s, "t_origin": t_origin, "t_target": t_target}

    def _train(self, rows: dict[str, Any], with_past: bool) -> Any:
        X = np.hstack([rows["X"], rows["X_past"]]) if with_past and rows["X_past"] is not None else rows["X"]
        y = rows["y"]
        categorical = [self._names(False).index("series")] if self.use_id_ else []
        if not _is_lightgbm(self.regressor):
            return self._make_regressor().fit(X, y)
        model = self._make_regressor()
        fit_kw: dict[str, Any] = {"categorical_feature": categorical} if categorical else {}
        cutoff = np.quantile(rows["t_origin"], 0.9)
        valid = rows["t_origin"] > cutoff
        train = rows["t_target"] <= cutoff
        if valid.sum() >= 20 and train.sum() >= MIN_TRAIN_ROWS:
            import lightgbm

            held_out = ({"eval_X": (X[valid],), "eval_y": (y[valid],)} if "eval_X" in signature(model.fit).parameters
                        else {"eval_set": [(X[valid], y[valid])]})
            probe = clone(model).fit(X[train], y[train], callbacks=[lightgbm.early_stopping(50, verbose=False)],
                                     **held_out, **fit_kw)
            best = int(probe.best_iteration_ or model.get_params()["n_estimators"])
            model.set_params(n_estimators=max(best, 1))
        if self.bags <= 1:
            return model.fit(X, y, **fit_kw)
        seed = self.random_state or 0
        return SeedBag([clone(model).set_params(random_state=seed + i).fit(X, y, **fit_kw)
                        for i in range(self.bags)])

    def _make_regressor(self) -> Any:
        params = dict(self.params or {})
        named = self.regressor in ("lightgbm", "ridge") if isinstance(self.regressor, str) else False
        if not named and not (hasattr(self.regressor, "fit") and hasattr(self.regressor, "predict")):
            raise ConfigError("regressor must be 'lightgbm', 'ridge' or a scikit-learn regressor; "
                              f"got {self.regressor!r}")
        if self.regressor == "lightgbm":
            from lightgbm import LGBMRegressor

            return LGBMRegressor(**{**_LIGHTGBM_DEFAULTS, "random_state": self.random_state, **params})
        if self.regressor == "ridge":
            from sklearn.linear_model import Ridge
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler

            return make_pipeline(StandardScaler(), Ridge(**{"alpha": 1.0, **params}))
        model = clone(self.regressor)
        return model.set_params(**params) if params else model

    # ------------------------------------------------------------------ features

    def _forward(self, y: np.ndarray, series: str) -> np.ndarray:
        y = np.asarray(y, dtype=float)
        if self.transform_ == "log1p":
            if (y < 0).any():
                raise DataError(f"series {series!r} has negative values; the model was learned on log1p(y) "
                                "of non-negative series")
            return np.log1p(y)
        return y

    def _inverse(self, v: np.ndarray) -> np.ndarray:
        return np.expm1(v) if self.transform_ == "log1p" else v

    def _features(self, W: np.ndarray, times: pd.DatetimeIndex, known: np.ndarray | None,
                  known_prev: np.ndarray | None, step: np.ndarray, codes: np.ndarray,
                  past: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Features of rows whose history windows are ``W`` (rows × need, last column at the origin),
        with the level ``m`` and scale ``s`` they were expressed in."""
        m = W[:, -self.level_window_:].mean(axis=1)
        if self.transform_ == "log1p":
            s = np.ones(len(W))
        else:
            s = np.abs(W[:, -self.scale_window_:]).mean(axis=1)
            s = np.where(s > 1e-12, s, 1.0)
        Z = (W - m[:, None]) / s[:, None]
        cols = [Z[:, [-k for k in self.lags_]]]
        for w in self.windows_:
            cols.append(np.column_stack([Z[:, -w:].mean(axis=1), Z[:, -w:].std(axis=1)]))
        if self.calendar_:
            values = _calendar_parts(times, self.calendar_)
            for part in self.calendar_:
                cols.append(values[part][:, None])
                cycle = _CALENDAR[part][1]
                if cycle:
                    angle = 2 * np.pi * values[part] / cycle
                    cols.append(np.column_stack([np.sin(angle), np.cos(angle)]))
        if self.known_names_:
            both = np.empty((len(W), 2 * len(self.known_names_)))
            both[:, 0::2], both[:, 1::2] = known, known_prev
            cols.append(both)
        cols.append(np.asarray(step, dtype=float)[:, None])
        if self.use_id_:
            cols.append(np.where(codes >= 0, codes, np.nan).astype(float)[:, None])
        if past is not None:
            cols.append(self._past_features(past))
        return np.hstack(cols), m, s

    def _past_features(self, P: np.ndarray) -> np.ndarray:
        """Past covariates' lags 1..k (``P``: rows × covariates × k, oldest first), each relative to its own
        mean and mean absolute value over those k steps."""
        m = P.mean(axis=2, keepdims=True)
        s = np.abs(P).mean(axis=2, keepdims=True)
        Z = (P - m) / np.where(s > 1e-12, s, 1.0)
        return Z[:, :, ::-1].reshape(len(P), -1)

    # ------------------------------------------------------------------ predict

    def predict(self, data: SeriesData, horizon: int,
                known_future: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
        horizon = check_horizon(horizon)
        if not hasattr(self, "need_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit first")
        ids = list(data.ids)
        if not ids:
            return {}
        self._check_columns(data)
        future = self._known_future(data, ids, horizon, known_future)
        need = self.need_
        histories = []
        for series in ids:
            if data.length(series) < need:
                raise DataError(f"series {series!r} has {data.length(series)} steps; {type(self).__name__} "
                                f"needs at least {need} to forecast from")
            histories.append(self._forward(data.y[series][-need:], series))
        W = np.vstack(histories)
        stamps = [future_index(data, s, horizon) for s in ids]
        codes = np.array([self.ids_.get(s, -1) for s in ids])
        P = None
        if self.past_lags_:
            P = np.stack([data.past[s][-self.past_lags_:].T for s in ids])
        out = np.empty((len(ids), horizon))
        if self.strategy == "recursive":
            for j in range(horizon):
                X, m, s = self._step_features(W, stamps, future, j, np.ones(len(ids)), codes, P if j == 0 else None)
                model = self.first_model_ if (j == 0 and self.first_model_ is not None) else self.model_
                v = model.predict(X) * s + m
                out[:, j] = v
                W = np.hstack([W[:, 1:], v[:, None]])
        else:
            start = 0
            while start < horizon:
                block = min(self.max_horizon_, horizon - start)
                preds = np.empty((len(ids), block))
                for h in range(1, block + 1):
                    g = next(i for i, group in enumerate(self.groups_) if h in group)
                    X, m, s = self._step_features(W, stamps, future, start + h - 1, np.full(len(ids), h), codes, P)
                    preds[:, h - 1] = self.models_[g].predict(X) * s + m
                out[:, start:start + block] = preds
                W = np.hstack([W, preds])[:, -need:]
                if P is not None:  # beyond the learned steps the past covariates hold their last values
                    held = np.repeat(P[:, :, -1:], block, axis=2)
                    P = np.concatenate([P, held], axis=2)[:, :, -self.past_lags_:]
                start += block
        return {s: self._inverse(out[i]) for i, s in enumerate(ids)}

    def _step_features(self, W: np.ndarray, stamps: list[pd.DatetimeIndex], future: np.ndarray | None, j: int,
                       step: np.ndarray, codes: np.ndarray, P: np.ndarray | None) -> tuple[np.ndarray, ...]:
        """Features for the ``j``-th future step (0-based) of every series."""
        times = pd.DatetimeIndex([st[j] for st in stamps])
        known = future[:, j + 1] if future is not None else None
        known_prev = future[:, j] if future is not None else None
        return self._features(W, times, known, known_prev, step, codes, P)

    def _check_columns(self, data: SeriesData) -> None:
        if list(data.known_names) != self.known_names_:
            raise ConfigError(f"the model was learned with known covariates {self.known_names_}; "
                              f"the data has {list(data.known_names)}")
        if list(data.past_names) != self.past_names_:
            raise ConfigError(f"the model was learned with past covariates {self.past_names_}; "
                              f"the data has {list(data.past_names)}")

    def _known_future(self, data: SeriesData, ids: list[str], horizon: int,
                      known_future: dict[str, np.ndarray] | None) -> np.ndarray | None:
        """Known covariates from the last observed step to the end of the horizon: series × (1 + horizon) × k."""
        if not self.known_names_:
            return None
        names = ", ".join(self.known_names_)
        if known_future is None:
            raise ConfigError(f"forecasting needs the known covariates ({names}) over the {horizon} steps ahead; "
                              "pass known_future")
        k = len(self.known_names_)
        rows = []
        for series in ids:
            if series not in known_future:
                raise ConfigError(f"known_future has no values of the known covariates ({names}) for series {series!r}")
            ahead = np.asarray(known_future[series], dtype=float).reshape(-1, k) if k else None
            if ahead is None or len(ahead) < horizon:
                raise ConfigError(f"known_future[{series!r}] needs {horizon} rows of the known covariates ({names}); "
                                  f"got {0 if ahead is None else len(ahead)}")
            if not np.isfinite(ahead[:horizon]).all():
                raise ConfigError(f"known_future[{series!r}] has missing values in the known covariates ({names})")
            rows.append(np.vstack([data.known[series][-1:], ahead[:horizon]]))
        return np.stack(rows)


class LagLinear(LagForecaster):
    """Ridge regression on standardised lag features, recursive: the linear model on lags."""

    name = "lag_linear"
    display = "Linear model on lags"

    def __init__(self, regressor: Any = "ridge", lags: int | list[int] | None = None,
                 strategy: str = "recursive", rolling: bool = True, calendar: bool = True,
                 target_transform: str = "auto", max_train_rows: int = 200_000, max_horizon: int | None = None,
                 params: dict[str, Any] | None = None, bags: int = 1, random_state: int | None = 0):
        super().__init__(regressor=regressor, lags=lags, strategy=strategy, rolling=rolling, calendar=calendar,
                         target_transform=target_transform, max_train_rows=max_train_rows,
                         max_horizon=max_horizon, params=params, bags=bags, random_state=random_state)


class LagLightGBMDirect(LagForecaster):
    """LightGBM on lags with the direct strategy: one model per step ahead."""

    name = "lag_lightgbm_direct"
    display = "LightGBM on lags (direct)"

    def __init__(self, regressor: Any = "lightgbm", lags: int | list[int] | None = None,
                 strategy: str = "direct", rolling: bool = True, calendar: bool = True,
                 target_transform: str = "auto", max_train_rows: int = 200_000, max_horizon: int | None = None,
                 params: dict[str, Any] | None = None, bags: int = 1, random_state: int | None = 0):
        super().__init__(regressor=regressor, lags=lags, strategy=strategy, rolling=rolling, calendar=calendar,
                         target_transform=target_transform, max_train_rows=max_train_rows,
                         max_horizon=max_horizon, params=params, bags=bags, random_state=random_state)


class SeedBag(BaseEstimator):
    """Fitted regressors alike but for their random seed, predicting their mean: the row and column
    sampling of one booster varies less once averaged."""

    def __init__(self, estimators: list[Any]):
        self.estimators = estimators

    @property
    def n_features_in_(self) -> int:
        return int(self.estimators[0].n_features_in_)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.mean([estimator.predict(X) for estimator in self.estimators], axis=0)


#: The lag forecasters by ``name``.
LAG_FORECASTERS: dict[str, type[LagForecaster]] = {
    cls.name: cls for cls in (LagForecaster, LagLinear, LagLightGBMDirect)
}


def _is_lightgbm(regressor: Any) -> bool:
    if isinstance(regressor, str):
        return regressor == "lightgbm"
    return type(regressor).__module__.split(".")[0] == "lightgbm"


def _step(data: SeriesData) -> pd.Timedelta:
    """The typical spacing of the series (a month for monthly data, about 30 days)."""
    diffs = [np.diff(_nanoseconds(data.time[s])) for s in data.ids if data.length(s) > 1]
    if not diffs:
        try:
            return pd.Timedelta(pd.tseries.frequencies.to_offset(data.freq).nanos)
        except ValueError:  # a calendar frequency (months, years): longer than any part kept
            return pd.Timedelta(days=30)
    return pd.Timedelta(int(np.median(np.concatenate(diffs))))


def _nanoseconds(times: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(times.values, dtype="datetime64[ns]").view("i8")


def _calendar_parts(times: pd.DatetimeIndex, parts: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for part in parts:
        if part == "week_of_year":
            out[part] = times.isocalendar().week.to_numpy(dtype=float)
        else:
            out[part] = np.asarray(getattr(times, part), dtype=float)
    return out
