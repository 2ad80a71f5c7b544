"""A custom training step inside homl: a Keras model whose ``train_step`` is written by hand.

The book writes whole training loops by hand; Keras 3 keeps ``fit`` (and so homl's early
stopping, schedules, checkpoints, deadlines and reports) and lets a model redo the step it
runs for each batch. This one, for the PyTorch backend, computes the loss, back-propagates,
applies the optimiser and logs the gradients' global norm beside the loss each epoch.

    KERAS_BACKEND=torch python examples/custom_training_step.py
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from homl.models import KerasRegressor, register  # noqa: E402


@register
class GradientNormModel(keras.Model):
    """Two dense layers trained by a hand-written step that also logs the gradients' norm."""

    def __init__(self, units: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.hidden = keras.layers.Dense(units, activation="relu")
        self.out = keras.layers.Dense(1)
        self.gradient_norm = keras.metrics.Mean(name="gradient_norm")

    def call(self, inputs):
        return self.out(self.hidden(inputs))

    def train_step(self, data):
        x, y = data[0], data[1]
        self.zero_grad()
        y_pred = self(x, training=True)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, training=True)
        loss.backward()
        gradients = [weight.value.grad for weight in self.trainable_weights]
        with torch.no_grad():
            self.optimizer.apply(gradients, self.trainable_weights)
        self.gradient_norm.update_state(torch.sqrt(sum((g**2).sum() for g in gradients)))
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
        return {"loss": self.metrics[0].result(), "gradient_norm": self.gradient_norm.result()}

    @property
    def metrics(self):
        return [*super().metrics, self.gradient_norm]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def build(n_features: int) -> keras.Model:
    model = GradientNormModel(32)
    model(keras.ops.zeros((1, n_features)))  # one call builds every layer
    return model


def main() -> KerasRegressor:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 6))
    y = X[:, 0] - 2 * X[:, 1] + np.sin(3 * X[:, 2]) + rng.normal(scale=0.1, size=1000)
    model = KerasRegressor(build, epochs=40, learning_rate=0.01, random_state=0).fit(X[:800], y[:800])
    print(f"R² on held-out rows: {model.score(X[800:], y[800:]):.3f}")
    print("gradient norm by epoch:", " ".join(f"{v:.2f}" for v in model.history_["gradient_norm"][:10]), "...")
    return model


if __name__ == "__main__":
    main()
