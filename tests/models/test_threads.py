"""Threads per model: one on small tables, the free cores on large ones."""

import os
import subprocess
import sys
import time

import pytest

from homl.models import free_cores, threads_for


def test_small_tables_get_one_thread_and_large_ones_the_free_cores(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert threads_for(1_000, 5) == 1
    assert threads_for(100_000, 20) is None  # every core: the family's default
    assert threads_for(100_000, 20, free_cores=8) is None
    assert threads_for(100_000, 20, free_cores=3) == 3
    assert threads_for(100_000, 20, free_cores=0) == 1


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="counts runnable processes from /proc/stat (Linux)")
def test_a_busy_process_takes_a_core_from_the_free_ones():
    cores = os.cpu_count() or 1
    idle = free_cores()
    assert 1 <= idle <= cores
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert free_cores() <= max(1, idle - 1) or cores == 1
    finally:
        busy.kill()
        busy.wait()
