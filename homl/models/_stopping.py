"""Early stopping whose patience grows with the best round: one rule for every booster.

A fixed patience of 50 rounds stops a booster that learns slowly too soon: on a long, flat
validation curve (hourly demand, a count with many regimes) the best round lies hundreds of
rounds past the first plateau. Waiting ``share`` of the best round (at least ``patience``
rounds) lets such a curve run on, and costs nothing on the many tables whose best round
comes early. :class:`Patience` holds the rule; the adapters give it to LightGBM, XGBoost and
CatBoost through their public callback interfaces.

Every adapter also stops once the fit's deadline has passed (see :mod:`homl._deadline`),
keeping the best round so far: a booster in a fold with a share of the time grows the trees
that fit in it, as a network trains the epochs that fit. It grows its ``patience`` rounds
first, whatever the time: a booster of a handful of trees barely beats the mean.
"""

from __future__ import annotations

import math
from typing import Any

from homl._deadline import seconds_left


def _past_deadline(round_: int, patience: int) -> bool:
    """True once the fit's deadline has passed and round ``round_`` (from 0) completes ``patience`` rounds."""
    left = seconds_left()
    return left is not None and left <= 0 and round_ + 1 >= patience


class Patience:
    """Tracks a validation loss round by round and says when to stop.

    Rounds are counted from 0. Training stops once ``max(patience, share * (best + 1))``
    rounds have passed without a lower loss than the best round's.
    """

    def __init__(self, patience: int, share: float = 0.0):
        if patience < 1:
            raise ValueError(f"patience must be at least 1 round; got {patience}")
        if share < 0:
            raise ValueError(f"share must be 0 or more; got {share}")
        self.patience, self.share = patience, share
        self.best_round: int | None = None
        self.best_loss = math.inf

    def rounds_to_wait(self) -> int:
        """Rounds without progress allowed after the best round seen so far."""
        best = 0 if self.best_round is None else self.best_round + 1
        return max(self.patience, math.ceil(self.share * best))

    def update(self, round_: int, loss: float) -> bool:
        """Record round ``round_``'s loss; True when training should stop."""
        if self.best_round is None or loss < self.best_loss:
            self.best_round, self.best_loss = round_, loss
            return False
        return round_ - self.best_round >= self.rounds_to_wait()


def lightgbm_callback(patience: int, share: float) -> Any:
    """A LightGBM callback stopping by :class:`Patience` on the first evaluation set's first metric."""
    from lightgbm.callback import EarlyStopException

    class _Stop:
        def __init__(self) -> None:
            # On the instance: LightGBM gives callbacks without their own an order by position.
            self.order = 30  # where LightGBM's own early stopping runs: after recording the round
            self.before_iteration = False
            self.rule = Patience(patience, share)
            self.best_results: list[Any] = []

        def __call__(self, env: Any) -> None:
            results = [r for r in env.evaluation_result_list if tuple(r)[0] != "training"]
            if not results:
                raise ValueError("early stopping needs an evaluation set besides the training rows")
            _, _, value, higher_is_better = tuple(results[0])[:4]
            round_ = env.iteration - env.begin_iteration
            stop = self.rule.update(round_, -value if higher_is_better else value)
            if self.rule.best_round == round_:
                self.best_results = list(env.evaluation_result_list)
            if stop or env.iteration == env.end_iteration - 1 or _past_deadline(round_, patience):
                raise EarlyStopException(self.rule.best_round + env.begin_iteration, self.best_results)

    return _Stop()


def xgboost_callback(patience: int, share: float) -> Any:
    """XGBoost's own early stopping (the last evaluation set's last metric), with :class:`Patience`'s wait."""
    from xgboost.callback import EarlyStopping

    class _Stop(EarlyStopping):
        def __init__(self) -> None:
            super().__init__(rounds=patience, save_best=False)
            self.rule = Patience(patience, share)

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            best = model.attr("best_iteration")
            if best is not None:
                self.rule.best_round = int(best)
            self.rounds = self.rule.rounds_to_wait()
            return super().after_iteration(model, epoch, evals_log) or _past_deadline(epoch, patience)

    return _Stop()


class CatBoostStop:
    """A CatBoost callback stopping by :class:`Patience` on the validation rows' loss."""

    def __init__(self, patience: int, share: float):
        self.rule = Patience(patience, share)

    def after_iteration(self, info: Any) -> bool:
        """False (stop) once the validation loss has waited long enough; CatBoost's protocol."""
        validation = info.metrics.get("validation")
        if not validation:
            return True
        losses = next(iter(validation.values()))
        round_ = info.iteration - 1
        return not self.rule.update(round_, float(losses[-1])) and not _past_deadline(round_, self.rule.patience)
