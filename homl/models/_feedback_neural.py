"""A neural recommender of implicit feedback: user embeddings and a softmax over the items, in Keras.

Each user is an embedding (chapter 13's embeddings); a dense layer over it gives every item a
logit, so the item embeddings are the layer's weights and its bias is each item's popularity.
Training reads each interaction as "this user picked this item among all of them" (softmax
cross-entropy over the whole catalogue, as a multinomial likelihood). Once trained, the weights
are copied into plain arrays: predictions need neither Keras nor PyTorch, and the model saves
like every homl model.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.utils._param_validation import Interval

from homl._deadline import seconds_left

from ._feedback_base import FeedbackModel

_POSITIVE_INT = [Interval(Integral, 1, None, closed="left")]


class FeedbackEmbeddings(FeedbackModel):
    """User embeddings of ``dimensions`` numbers and a softmax over the items, trained with Adam.

    ``epochs`` passes over the interactions (each weighted by its strength), in batches of
    ``batch_size``, with L2 ``regularization`` on the embeddings and weights; training stops at the
    fit deadline in force (a time limit). Needs the ``deep`` extra (Keras on PyTorch).
    """

    _parameter_constraints: dict[str, list[Any]] = {
        "dimensions": _POSITIVE_INT,
        "epochs": _POSITIVE_INT,
        "batch_size": _POSITIVE_INT,
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "regularization": [Interval(Real, 0, None, closed="left")],
        "random_state": [None, Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, dimensions: int = 64, epochs: int = 20, batch_size: int = 512, learning_rate: float = 0.002,
                 regularization: float = 1e-5, random_state: int | None = None):
        self.dimensions = dimensions
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.random_state = random_state

    def _learn(self, matrix: sp.csr_matrix) -> None:
        from ._callbacks import time_limit_callback
        from ._keras import import_keras

        keras = import_keras()
        keras.utils.set_random_seed(self.random_state if self.random_state is not None else 0)
        coo = matrix.tocoo()
        users, items = coo.row.astype("int32"), coo.col.astype("int32")
        weights = (coo.data / coo.data.mean()).astype("float32")
        l2 = keras.regularizers.L2(self.regularization) if self.regularization else None
        model = keras.Sequential([
            keras.Input(shape=(1,), dtype="int32"),
            keras.layers.Embedding(self.n_users_, self.dimensions, embeddings_regularizer=l2, name="users"),
            keras.layers.Flatten(),
            keras.layers.Dense(self.n_items_, kernel_regularizer=l2, name="items"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        callbacks = [time_limit_callback(keras)] if seconds_left() is not None else []
        model.fit(users[:, None], items, sample_weight=weights, epochs=self.epochs, batch_size=self.batch_size,
                  shuffle=True, verbose=0, callbacks=callbacks)
        self.user_factors_ = np.asarray(model.get_layer("users").get_weights()[0], dtype=np.float32)
        kernel, bias = model.get_layer("items").get_weights()
        self.item_factors_ = np.asarray(kernel.T, dtype=np.float32)
        self.item_bias_ = np.asarray(bias, dtype=np.float32)

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T + self.item_bias_

    def item_vectors(self) -> np.ndarray:
        super().item_vectors()
        return self.item_factors_
