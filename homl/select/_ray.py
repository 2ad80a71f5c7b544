"""Running the short-list's families and the search's trials on a Ray cluster, one per CPU.

The studies stay in this process: the executor ships each job without its callbacks and its
tag (they hold Optuna trials), and gives the outcome back with the job it was given. The folds
(the training table) go to the object store once, whatever the number of jobs. Deadlines
travel as seconds left, since ``time.monotonic()`` means something else on every machine.

Jobs run on Ray are not pruned: a trial's fold losses are known only when it ends. A job
whose worker or node dies is run again once (by the executor rather than by Ray's own retry,
so it gets the time then left and the rerun is counted), then counts as failed; a job still
running well past its deadline is cancelled. Ray is imported only when an executor connects.

Every node needs homl installed, at the version this process runs.
"""

from __future__ import annotations

import logging
import pickle
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from homl._progress import Progress
from homl.errors import ConfigError

from ._cv import Folds, OutOfTime
from ._executor import Job, Outcome, run_job

#: Seconds a head is given to accept a connection before it counts as unreachable.
CONNECT_TIMEOUT = 5.0
#: Seconds between looks at the jobs in flight while none finishes (deadlines, nodes that left).
POLL_SECONDS = 1.0
#: Seconds between looks at the cluster's nodes.
NODES_SECONDS = 3.0
#: How long past its deadline a job may run before it is cancelled: a share of the time it was
#: given, within these bounds (a worker starts its clock when the job starts, a little late).
GRACE_SHARE, MIN_GRACE, MAX_GRACE = 0.1, 5.0, 60.0
#: Seconds to fetch a finished job's outcome (it may live on another node's object store).
GET_SECONDS = 120.0


@dataclass
class _Flight:
    """A job in flight: the job as the caller gave it (tag, callbacks), when it left, and whether it is a rerun."""

    job: Job
    sent: float
    rerun: bool = False


class RayExecutor:
    """Runs jobs as Ray tasks, one CPU each, as many at once as the cluster has CPUs.

    ``address`` is what ``ray.init`` takes: ``"auto"`` (the cluster this machine belongs to),
    ``"HOST:6379"`` (a head's GCS) or ``"ray://HOST:10001"`` (Ray Client). Call :meth:`connect`
    before any work, and :meth:`close` after. ``progress`` hears which nodes run trials.
    """

    def __init__(self, address: str | None = "auto", *, progress: Progress | None = None):
        self.address = address or "auto"
        self.progress = progress or Progress()
        #: How many jobs may run at once: the CPUs of the cluster's live nodes.
        self.slots = 0
        #: Jobs that ran on each node, by the node's label (its address).
        self.trials: dict[str, int] = {}
        #: Jobs run again after their worker or node died.
        self.rerun = 0
        #: Jobs lost with their worker or node twice (counted as failed).
        self.lost = 0
        #: Jobs cancelled while still running well past their deadline.
        self.cancelled = 0
        #: Nodes that left the cluster while this executor used it.
        self.nodes_left: list[str] = []
        self._labels: dict[str, str] = {}
        self._alive: set[str] = set()
        self._looked = 0.0
        self._owns_connection = False
        self._remote: Any = None
        self._folds: tuple[Folds, Any] | None = None
        self._warming: list[Any] = []

    def connect(self) -> RayExecutor:
        """Join the cluster (a :class:`~homl.errors.ConfigError` when it cannot be reached), and warm its workers."""
        try:
            import ray
        except ImportError:
            raise ConfigError("running on a Ray cluster needs Ray: pip install 'homl[scale]'") from None
        if ray.is_initialized():
            self._check_same_cluster(ray)
        else:
            self._owns_connection = join_cluster(self.address)
        self._look(force=True)
        if self.slots < 1:
            self.close()
            raise ConfigError(f"the Ray cluster at '{self.address}' has no CPU to run trials on")
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_run_remote)  # reruns: see _collect
        # Workers import homl (scikit-learn, LightGBM...) once, while this process loads the data.
        warm = ray.remote(num_cpus=1)(_warm_up)
        self._warming = [warm.remote() for _ in range(self.slots)]
        return self

    def close(self) -> None:
        """Let go of the folds in the object store, and leave the cluster if :meth:`connect` joined it."""
        self._folds, self._warming = None, []
        if self._owns_connection:
            import ray

            ray.shutdown()
            self._owns_connection = False

    def run(self, jobs: Iterable[Job], folds: Folds) -> Iterator[Outcome]:
        """Run ``jobs`` on the cluster, drawing the next only when a CPU frees; yield outcomes as they finish."""
        import ray

        if self._remote is None:
            self.connect()
        folds_ref = self._put(folds)
        flights: dict[Any, _Flight] = {}
        jobs = iter(jobs)
        drawn_all = False
        try:
            while True:
                while not drawn_all and len(flights) < max(self.slots, 1):
                    job = next(jobs, None)
                    if job is None:
                        drawn_all = True
                    elif self.slots == 0:  # every node with a CPU is gone: the work goes on here
                        yield run_job(job, folds)
                    else:
                        flights[self._submit(job, folds_ref)] = _Flight(job, time.monotonic())
                if not flights:
                    if drawn_all:
                        return
                    continue
                ready, _ = ray.wait(list(flights), num_returns=1, timeout=POLL_SECONDS)
                for ref in ready:
                    flight = flights.pop(ref)
                    outcome = self._collect(ref, flight)
                    if outcome is None:  # lost with its worker: once more, with the time now left
                        again = _Flight(flight.job, time.monotonic(), rerun=True)
                        flights[self._submit(flight.job, folds_ref)] = again
                    else:
                        yield outcome
                yield from self._cancel_overdue(flights)
                self._look()
                if self.slots == 0:  # nothing on the cluster can run the jobs in flight
                    for ref in _cancel(list(flights)):
                        yield run_job(flights.pop(ref).job, folds)
        finally:  # the caller stopped early: stop what still runs for it
            _cancel(list(flights))

    def summary(self) -> dict[str, Any]:
        """What the cluster did, as plain data: the address, jobs per node, jobs rerun, lost or cancelled, nodes lost."""
        return {"address": self.address, "nodes": dict(self.trials), "rerun": self.rerun, "lost": self.lost,
                "cancelled": self.cancelled, "nodes_left": list(self.nodes_left)}

    def describe(self) -> str:
        """Trials per node, in one line: ``10.0.0.1: 12, 10.0.0.2: 11``."""
        return ", ".join(f"{node}: {n}" for node, n in sorted(self.trials.items())) or "none"

    def _check_same_cluster(self, ray: Any) -> None:
        """This process already belongs to a cluster (joined by the caller): use it only if it is the one asked for."""
        if self.address == "auto" or "://" in self.address:
            return
        current = ray.get_runtime_context().gcs_address
        if current not in (self.address, _canonical(self.address)):
            raise ConfigError(f"this process is already connected to the Ray cluster at {current}, not "
                              f"'{self.address}'; call ray.shutdown() first, or ask for that cluster")

    def _put(self, folds: Folds) -> Any:
        """The folds' object reference: put once, shared by every run on the same folds."""
        import ray

        if self._folds is None or self._folds[0] is not folds:
            self._folds = (folds, ray.put(folds))
        return self._folds[1]

    def _submit(self, job: Job, folds_ref: Any) -> Any:
        now = time.monotonic()
        left = [None if t is None else t - now for t in (job.deadline, job.all_folds_by, job.shared_until)]
        return self._remote.remote(shipped(job), folds_ref, *left)

    def _collect(self, ref: Any, flight: _Flight) -> Outcome | None:
        """The outcome of a finished task, with the caller's job; None for a first loss with its worker or node
        (the job is to run again); a second loss is a failed job."""
        import ray

        try:
            outcome = ray.get(ref, timeout=GET_SECONDS)
        except (ray.exceptions.RayTaskError, ray.exceptions.TaskCancelledError, ray.exceptions.GetTimeoutError) as error:
            return Outcome(flight.job, error=error)  # the task itself raised (past run_job's guard), or hangs
        except ray.exceptions.RayError as error:  # worker or node died, object lost with its node...
            self._look(force=True)
            how = f"lost with its Ray worker or node ({type(error).__name__})"
            if not flight.rerun:
                self.rerun += 1
                self.progress.note(f"{flight.job.name}: a job {how}; it runs again")
                return None
            self.lost += 1
            self.progress.note(f"{flight.job.name}: a job {how} twice; counted as failed")
            return Outcome(flight.job, error=error)
        outcome.job = flight.job
        outcome.node = self._label(outcome.node)
        if outcome.node not in self.trials:
            self.trials[outcome.node] = 0
            self.progress.note(f"Ray: trials running on node {outcome.node}")
        self.trials[outcome.node] += 1
        return outcome

    def _cancel_overdue(self, flights: dict[Any, _Flight]) -> Iterator[Outcome]:
        """Cancel the jobs still running well past their deadline (e.g. rerun late on another node)."""
        now = time.monotonic()
        for ref, flight in list(flights.items()):
            deadline = flight.job.deadline
            if deadline is None:
                continue
            grace = min(max(GRACE_SHARE * (deadline - flight.sent), MIN_GRACE), MAX_GRACE)
            if now <= deadline + grace:
                continue
            del flights[ref]
            _cancel([ref])
            self.cancelled += 1
            yield Outcome(flight.job, out_of_time=OutOfTime(
                f"still running on the Ray cluster {now - deadline:.0f} s past its deadline; cancelled"))

    def _look(self, force: bool = False) -> None:
        """Refresh the live nodes and the CPUs they hold (at most every ``NODES_SECONDS``); note nodes that left."""
        import ray

        if not force and time.monotonic() - self._looked < NODES_SECONDS:
            return
        self._looked = time.monotonic()
        nodes = ray.nodes()
        by_ip: dict[str, int] = {}
        for node in nodes:
            by_ip[node["NodeManagerAddress"]] = by_ip.get(node["NodeManagerAddress"], 0) + 1
        for node in nodes:
            node_id, ip = node["NodeID"], node["NodeManagerAddress"]
            # Nodes sharing an address (several on one machine) are told apart by their id.
            self._labels.setdefault(node_id, ip if by_ip[ip] == 1 else f"{ip} ({node_id[:8]})")
        alive = {node["NodeID"] for node in nodes if node["Alive"]}
        for gone in sorted(self._alive - alive):
            self.nodes_left.append(self._labels[gone])
            self.progress.note(f"Ray node {self._labels[gone]} left the cluster; its jobs run again elsewhere")
        self._alive = alive
        self.slots = int(sum(node["Resources"].get("CPU", 0) for node in nodes if node["Alive"]))

    def _label(self, node_id: str | None) -> str:
        if node_id not in self._labels:
            self._look(force=True)
        return self._labels.get(node_id, node_id or "unknown")


def join_cluster(address: str) -> bool:
    """Join the Ray cluster at ``address`` unless this process already belongs to one; whether it
    joined. A head that does not answer is a :class:`~homl.errors.ConfigError` at once (``ray.init``
    alone would retry for minutes)."""
    try:
        import ray
    except ImportError:
        raise ConfigError("running on a Ray cluster needs Ray: pip install 'homl[scale]'") from None
    if ray.is_initialized():
        return False
    _probe(address)
    try:
        # The workers' own logs stay on their nodes: their errors come back as exceptions.
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False, logging_level=logging.WARNING)
    except ConnectionError:
        raise ConfigError(f"'{address}' answers, but not as a Ray head; name the head's GCS port (6379 unless "
                          "`ray start --port` changed it)") from None
    except Exception as error:  # a malformed address, a version mismatch...
        raise ConfigError(f"cannot join the Ray cluster at '{address}': {error}") from None
    return True


def shipped(job: Job) -> Job:
    """What goes to a worker: the job without its deadlines (they travel as seconds left), its
    callbacks and its tag (they hold the caller's Optuna trials, which stay in this process)."""
    return replace(job, deadline=None, all_folds_by=None, shared_until=None, on_fold=None, on_epoch=None, tag=None)


def _run_remote(job: Job, folds: Folds, deadline_in: float | None, share_in: float | None,
                shared_in: float | None) -> Outcome:
    """On a worker: run the job with its deadlines on this machine's clock; the outcome names the node."""
    import ray

    now = time.monotonic()
    job = replace(job, deadline=None if deadline_in is None else now + deadline_in,
                  all_folds_by=None if share_in is None else now + share_in,
                  shared_until=None if shared_in is None else now + shared_in)
    outcome = run_job(job, folds)
    outcome.job = replace(job, pipeline=None)  # the caller has it
    if outcome.error is not None and not _picklable(outcome.error):
        outcome.error = RuntimeError(f"{type(outcome.error).__name__}: {outcome.error}")
    outcome.node = ray.get_runtime_context().get_node_id()
    return outcome


def _cancel(refs: list[Any]) -> list[Any]:
    """Stop the tasks behind ``refs`` (killing their workers); those already finished or gone need nothing."""
    import ray

    for ref in refs:
        try:
            ray.cancel(ref, force=True)
        except Exception:  # finished, or lost with its node
            pass
    return refs


def _warm_up() -> None:
    """On a worker: import what every job needs."""
    import homl.models  # noqa: F401
    import homl.select  # noqa: F401


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def _canonical(address: str) -> str:
    """The GCS address Ray will dial for ``address`` (it may rewrite a loopback host), or ``address``."""
    try:
        from ray._private.services import canonicalize_bootstrap_address

        return canonicalize_bootstrap_address(address) or address
    except ConnectionError:
        raise
    except Exception:  # Ray's private helper moved: dial what was given
        return address


def _probe(address: str) -> None:
    """Fail fast when no head answers at ``address`` (``ray.init`` retries for minutes)."""
    if "://" in address:
        target = address.split("://", 1)[1]
    else:
        try:
            target = _canonical(address)
        except ConnectionError as error:  # "auto" found no cluster on this machine
            raise ConfigError(f"no Ray cluster found for address '{address}': {error}") from None
    host, _, port = target.rstrip("/").rpartition(":")
    if not host or not port.isdecimal():
        raise ConfigError(f"Ray address '{address}' is not HOST:PORT, ray://HOST:PORT or 'auto'")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT).close()
    except OSError as error:
        raise ConfigError(f"no Ray head answers at '{address}' ({host}:{port}: {error.strerror or error}); "
                          "start one with `ray start --head`, or give the address it printed") from None
