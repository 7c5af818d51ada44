"""One bot per SQLite file: the second process is refused at once, with the file and
the holder's pid; the lock dies with its process (SIGKILL included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from storage.db import StorageError
from storage.process_lock import lock_single_process

HOLD = """
import sys, time
from storage.process_lock import lock_single_process
lock = lock_single_process(sys.argv[1])
print("held", flush=True)
time.sleep(120)
"""


def test_a_second_holder_is_refused_with_the_file_and_pid(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StorageError) as refused:
            lock_single_process(url)
        message = str(refused.value)
        assert f"{tmp_path}/bot.db is in use by another circlebot" in message
        assert f"process {holder.pid}" in message
        os.kill(holder.pid, signal.SIGKILL)  # the kernel releases the lock
        holder.wait(timeout=30)
        lock = lock_single_process(url)
        assert lock is not None
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_released_lock_can_be_taken_again_and_others_need_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    first = lock_single_process(url)
    assert first is not None
    with pytest.raises(StorageError):
        lock_single_process(url)  # a second open file in the same process too
    first.release()
    again = lock_single_process(url)
    assert again is not None
    again.release()
    assert lock_single_process("sqlite:///:memory:") is None
    assert lock_single_process("postgresql+psycopg://bot@localhost/circles") is None
