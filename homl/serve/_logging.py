"""A sample of served requests, written to the registry's prediction log off the request path.

``PredictionLogger.offer`` draws whether a request is logged (each with probability ``share``)
and queues its rows; a background thread writes what is queued in batches. A request never
waits on the database: when the queue is full, rows are dropped and counted.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from typing import Any

from homl.registry import LoggedPrediction, Registry

logger = logging.getLogger("homl")

#: Rows queued at most; beyond, rows are dropped (and counted) rather than slowing requests.
QUEUE_ROWS = 50_000
#: Rows written per transaction at most, and the longest a queued row waits, in seconds.
BATCH_ROWS = 1000
FLUSH_SECONDS = 0.5


class PredictionLogger:
    """Logs a ``share`` (0 to 1) of requests' rows with their predictions into ``registry``."""

    def __init__(self, registry: Registry, share: float, *, seed: int | None = None):
        if not 0 < share <= 1:
            raise ValueError(f"the share of requests logged is {share!r}; expected more than 0, at most 1")
        self.registry = registry
        self.share = share
        self._draw = random.Random(seed)
        self._queue: queue.Queue[tuple[str, int, LoggedPrediction] | None] = queue.Queue(QUEUE_ROWS)
        self._thread: threading.Thread | None = None
        self.logged = 0
        self.dropped = 0
        self.failed = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="homl-prediction-log", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout)
        self._thread = None

    def offer(self, name: str, version: int, request_id: str, instances: list[dict[str, Any]],
              result: dict[str, Any]) -> bool:
        """Queue the request's rows if it is drawn; whether it was."""
        if self._draw.random() >= self.share:
            return False
        predictions = result["predictions"]
        probabilities = result.get("probabilities")
        for row, inputs in enumerate(instances):
            outputs: dict[str, Any] = {"prediction": predictions[row]}
            if probabilities:
                outputs["probabilities"] = probabilities[row]
            try:
                self._queue.put_nowait((name, version, LoggedPrediction(request_id, row, inputs, outputs)))
            except queue.Full:
                self.dropped += len(instances) - row
                break
        return True

    def _run(self) -> None:
        ending = False
        while not ending:
            batch: list[tuple[str, int, LoggedPrediction]] = []
            try:
                first = self._queue.get(timeout=FLUSH_SECONDS)
            except queue.Empty:
                continue
            if first is None:
                ending = True
            else:
                batch.append(first)
            while len(batch) < BATCH_ROWS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    ending = True
                    continue
                batch.append(item)
            self._write(batch)

    def _write(self, batch: list[tuple[str, int, LoggedPrediction]]) -> None:
        groups: dict[tuple[str, int], list[LoggedPrediction]] = {}
        for name, version, record in batch:
            groups.setdefault((name, version), []).append(record)
        for (name, version), records in groups.items():
            try:
                self.logged += self.registry.log_predictions(name, version, records)
            except Exception as error:  # the log must never stop the server
                self.failed += len(records)
                logger.warning("could not log %d predictions of %s: %s", len(records), name, error)
