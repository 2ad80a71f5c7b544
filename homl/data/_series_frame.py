"""Regular time series, one per id, as forecasters read them.

A :class:`SeriesData` is what :func:`homl.data.read_series` makes of a table: every series sorted,
spaced one step of ``freq`` apart, with no missing target value, its ids as strings. Forecasters
learn from one and forecast from the end of one (the same, or newer rows of the same series).

>>> import numpy as np, pandas as pd
>>> data = SeriesData.single(np.arange(10.0), pd.date_range("2024-01-01", periods=10, freq="D"), freq="D")
>>> data.ids, data.season, future_index(data, "", 3)[0]
(('',), 1, Timestamp('2024-01-11 00:00:00'))
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

#: The id of the one series of a table without an id column.
SINGLE_ID = ""


@dataclass(frozen=True)
class SeriesData:
    """Regular series keyed by id (a string; ``""`` when the table has a single series).

    ``y[id]``: the target, float, shape ``(n,)``, no NaN. ``time[id]``: the timestamps of those
    ``n`` steps, one ``freq`` apart. ``known[id]``: covariates known in advance for every step
    (calendar flags, planned prices), float, shape ``(n, len(known_names))``. ``past[id]``: covariates
    only known up to now (another measured series), float, shape ``(n, len(past_names))``. Both are
    absent (empty dicts) when the table has none. ``season`` is the main seasonal period in steps
    (1 when none was found); ``seasons`` lists every period found, main first.
    """

    y: dict[str, np.ndarray]
    time: dict[str, pd.DatetimeIndex]
    freq: str
    season: int = 1
    seasons: tuple[int, ...] = ()
    known: dict[str, np.ndarray] = field(default_factory=dict)
    known_names: tuple[str, ...] = ()
    past: dict[str, np.ndarray] = field(default_factory=dict)
    past_names: tuple[str, ...] = ()
    target: str = "y"

    @classmethod
    def single(cls, y: np.ndarray, time: pd.DatetimeIndex, *, freq: str, season: int = 1,
               known: np.ndarray | None = None, known_names: tuple[str, ...] = (),
               past: np.ndarray | None = None, past_names: tuple[str, ...] = (), target: str = "y") -> SeriesData:
        """One series (id ``""``) from arrays."""
        return cls(
            y={SINGLE_ID: np.asarray(y, dtype=float)}, time={SINGLE_ID: pd.DatetimeIndex(time)}, freq=freq,
            season=season, seasons=(season,) if season > 1 else (),
            known={SINGLE_ID: np.asarray(known, dtype=float)} if known is not None else {}, known_names=known_names,
            past={SINGLE_ID: np.asarray(past, dtype=float)} if past is not None else {}, past_names=past_names,
            target=target,
        )

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.y)

    def length(self, series: str) -> int:
        return len(self.y[series])

    def head(self, n: int | dict[str, int]) -> SeriesData:
        """The first ``n`` steps of every series (``n`` may be a count per id); ids left with no step drop out."""
        counts = n if isinstance(n, dict) else {series: n for series in self.ids}
        kept = [s for s in self.ids if counts.get(s, 0) > 0]
        return self._select({s: slice(0, counts[s]) for s in kept})

    def drop_last(self, n: int) -> SeriesData:
        """Every series without its last ``n`` steps (ids left with no step drop out)."""
        return self.head({s: self.length(s) - n for s in self.ids})

    def tail(self, n: int) -> SeriesData:
        """The last ``n`` steps of every series."""
        return self._select({s: slice(max(0, self.length(s) - n), None) for s in self.ids})

    def subset(self, ids: list[str] | tuple[str, ...]) -> SeriesData:
        return self._select({s: slice(None) for s in ids})

    def _select(self, slices: dict[str, slice]) -> SeriesData:
        return replace(
            self,
            y={s: self.y[s][sl] for s, sl in slices.items()},
            time={s: self.time[s][sl] for s, sl in slices.items()},
            known={s: self.known[s][sl] for s, sl in slices.items() if s in self.known},
            past={s: self.past[s][sl] for s, sl in slices.items() if s in self.past},
        )


def future_index(data: SeriesData, series: str, horizon: int) -> pd.DatetimeIndex:
    """The ``horizon`` timestamps after the end of ``series``."""
    last = data.time[series][-1]
    return pd.date_range(last, periods=horizon + 1, freq=data.freq)[1:]
