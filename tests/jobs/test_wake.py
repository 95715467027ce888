"""The wake-up socket between the web and the worker process (jobs.wake)."""
from __future__ import annotations

import os
import socket
import threading

from wasb.jobs.wake import Listener, Waker, wake_path


def test_the_path_is_one_per_database_whatever_the_directory_a_process_starts_in(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = wake_path("sqlite:///./wasb.db")
    assert relative == wake_path(f"sqlite:///{tmp_path}/wasb.db")
    assert relative != wake_path(f"sqlite:///{tmp_path}/other.db")
    assert wake_path("postgresql://u:secret@db/wasb") == wake_path("postgresql://u:other@db/wasb")
    assert len(relative.encode()) < 100  # AF_UNIX paths are at most 107 bytes


def test_a_datagram_wakes_the_listener_and_nobody_listening_is_no_error(tmp_path):
    path = str(tmp_path / "w.wake")
    waker = Waker(path)
    waker.notify()  # nobody there yet: nothing happens
    woken = threading.Event()
    listener = Listener(path, woken.set)
    assert listener.start()
    try:
        waker.notify()
        assert woken.wait(10)
    finally:
        listener.stop()
        waker.close()
    assert not os.path.exists(path)
    Waker(path).notify()  # gone again: still no error


def test_a_path_left_by_a_dead_worker_is_taken_over_and_a_live_one_is_left_alone(tmp_path):
    path = str(tmp_path / "w.wake")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dead.bind(path)
    dead.close()  # the file stays, as after a kill -9
    first = Listener(path, lambda: None)
    assert first.start()
    second = Listener(path, lambda: None)
    try:
        assert not second.start()  # another worker (PostgreSQL) listens: this one polls
    finally:
        second.stop()
        first.stop()
