"""The Keras callbacks homl's training adds: the fit deadline, per-epoch checkpoints, TensorBoard logs.

Each is made by a function taking the ``keras`` module, so that importing this module needs no Keras.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from homl._deadline import report_epoch, seconds_left
from homl.errors import ConfigError

#: Files a checkpoint is made of in ``checkpoint_dir``: the model with its optimiser, and the
#: epochs done with the history so far.
CHECKPOINT_MODEL = "checkpoint.keras"
CHECKPOINT_STATE = "checkpoint.json"


def time_limit_callback(keras: Any) -> Any:
    """A callback that stops training when the next epoch would end past the fit deadline in
    force (see :mod:`homl._deadline`), early stopping then restoring the best epoch's weights;
    and that reports each epoch's held-out loss to the watcher in force (a search's pruner,
    which may stop the fit by raising)."""

    class TimeLimit(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            self.started, self.done = time.monotonic(), 0

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.done += 1
            if logs and "val_loss" in logs:
                report_epoch(epoch + 1, float(logs["val_loss"]))
            left = seconds_left()
            if left is not None and left < (time.monotonic() - self.started) / self.done:
                self.model.stop_training = True

    return TimeLimit()


def checkpoint_callback(keras: Any, folder: Path, history: dict[str, list[float]], network: dict[str, Any]) -> Any:
    """A callback that saves, after each epoch, the model (with its optimiser) and the epochs
    done, with ``history`` up to them and the ``network`` they belong to. Each file is written
    beside its place and renamed over it, so that a run killed at any moment leaves the last
    whole checkpoint."""

    class Checkpoint(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            folder.mkdir(parents=True, exist_ok=True)
            for name, value in (logs or {}).items():
                history.setdefault(name, []).append(float(value))
            partial_model = folder / f".partial-{CHECKPOINT_MODEL}"  # Keras wants the .keras suffix
            self.model.save(partial_model)
            os.replace(partial_model, folder / CHECKPOINT_MODEL)
            partial_state = folder / f".partial-{CHECKPOINT_STATE}"
            partial_state.write_text(json.dumps({"epoch": epoch + 1, "history": history, "network": network}),
                                     encoding="utf-8")
            os.replace(partial_state, folder / CHECKPOINT_STATE)

    return Checkpoint()


def resume_state(folder: Path, network: dict[str, Any]) -> dict[str, Any] | None:
    """The checkpoint left in ``folder`` by this ``network``: the model file, the epochs done and
    the history so far; None when there is none; a ConfigError when it is another network's."""
    state_file, model_file = folder / CHECKPOINT_STATE, folder / CHECKPOINT_MODEL
    if not state_file.exists() or not model_file.exists():
        return None
    state = json.loads(state_file.read_text(encoding="utf-8"))
    if state.get("network") != json.loads(json.dumps(network)):
        raise ConfigError(f"checkpoint in '{folder}' is of another network (other layers, inputs or outputs); "
                          "remove it or choose another checkpoint_dir")
    return {"model": model_file, "epoch": int(state["epoch"]),
            "history": {name: list(values) for name, values in state["history"].items()}}


def tensorboard_callback(keras: Any, folder: Path) -> Any:
    """A callback that logs each epoch's losses, metrics and learning rate in ``folder`` for
    TensorBoard (``tensorboard --logdir folder``), one run per fit in a folder of its own."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError:
        raise ConfigError("tensorboard_dir needs the tensorboardX package: pip install 'homl[deep]'") from None

    class TensorBoard(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            self.writer = SummaryWriter(logdir=str(folder / time.strftime("run-%Y%m%d-%H%M%S")))

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            for name, value in (logs or {}).items():
                self.writer.add_scalar(f"epoch/{name}", float(value), epoch + 1)
            self.writer.flush()

        def on_train_end(self, logs: Any = None) -> None:
            self.writer.close()

    return TensorBoard()
