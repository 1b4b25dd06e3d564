"""Where episodes run: local worker processes, or Ray tasks on a local or remote Ray cluster.

Both take a picklable top-level function and argument tuples and yield the results as they
finish. Every episode builds its own world (one PyBullet client per process at a time), so the
results do not depend on which worker ran what, nor in which order.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from robot_llm.errors import Fault

Job = Callable[..., Any]
WARM_MODULES = (
    "robot_llm.session",
    "robot_llm.envs.world",
    "robot_llm.envs.tasks",
    "robot_llm.robots.sim",
    "robot_llm.perception",
    "robot_llm.planning",
    "robot_llm.execution",
)


class BackendError(Fault):
    """A backend cannot start (Ray missing or unreachable) or lost its workers."""


def _watch_parent(parent: int) -> None:
    """End this worker when the process that started it is gone (killed, not shut down)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(parent: int) -> None:
    import importlib

    from robot_llm.bench.episode import limit_threads

    limit_threads()
    # Import the stack now, so that the first episode's setup time is the world's alone.
    for module in WARM_MODULES:
        importlib.import_module(module)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


class LocalBackend:
    """`workers` processes started with the spawn method (no state copied from the parent)."""

    name = "local"

    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(os.getpid(),),
            )
        return self._pool

    def map(self, job: Job, items: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        from concurrent.futures.process import BrokenProcessPool

        pool = self._executor()
        pending: set[Future[Any]] = {pool.submit(job, *args) for args in items}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        except BrokenProcessPool:
            raise BackendError("a worker process died; run again to resume") from None
        finally:
            for future in pending:
                future.cancel()

    def close(self, wait: bool = True) -> None:
        """Stop the workers; `wait=False` (an interrupt) returns at once, and workers still
        busy end within a second of this process ending (they watch their parent)."""
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None


class RayBackend:
    """Ray tasks of one CPU each. `address` "local" starts a private Ray instance with `workers`
    CPUs; anything else ("auto", "HOST:PORT", "ray://HOST:10001") joins that cluster. When Ray
    is already initialized in this process, that connection is used as it is."""

    name = "ray"

    def __init__(self, address: str, workers: int) -> None:
        try:
            import ray
        except ImportError:
            raise BackendError(
                "--ray needs Ray: pip install 'robot-llm[ray]' (or pip install ray)"
            ) from None
        self._ray = ray
        self._owned = False
        if not ray.is_initialized():
            try:
                if address == "local":
                    ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
                else:
                    ray.init(address=address, log_to_driver=False)
            except Exception as err:  # ConnectionError and Ray's own errors
                first = str(err).splitlines()[0] if str(err) else type(err).__name__
                raise BackendError(f"cannot start or reach Ray at {address!r}: {first}") from None
            self._owned = True
        self.workers = int(ray.cluster_resources().get("CPU", workers))

    def map(self, job: Job, items: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        ray = self._ray
        remote = ray.remote(num_cpus=1)(job)
        pending = [remote.remote(*args) for args in items]
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    yield ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self, wait: bool = True) -> None:
        if self._owned:
            self._ray.shutdown()
            self._owned = False


def make_backend(workers: int, ray_address: str | None) -> LocalBackend | RayBackend:
    return RayBackend(ray_address, workers) if ray_address else LocalBackend(workers)
