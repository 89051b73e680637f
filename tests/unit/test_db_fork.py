"""A forked process (an RQ work horse) must not disturb SQLite through its parent's connections."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from taskq import db
from taskq.config import Settings

pytestmark = pytest.mark.skipif(not Path("/proc/locks").exists(), reason="reads Linux /proc/locks")


def _dms_lock_held(pid: int, db_file: Path) -> bool:
    """Whether ``pid`` holds SQLite's shared "DMS" lock (byte 128 of the ``-shm`` WAL index):
    the lock that tells every other connection this process still uses the WAL."""
    inode = f":{db_file.with_name(db_file.name + '-shm').stat().st_ino} "
    with open("/proc/locks") as fh:
        return any(
            f" {pid} " in line and inode in line and line.split()[-2:] == ["128", "128"] for line in fh
        )


def test_a_forked_child_keeps_its_sqlite_locks_when_the_parents_connections_go(tmp_path: Path) -> None:
    # POSIX locks are not inherited through fork, but SQLite's record of them is: a child
    # forked while its parent held an open connection reused the parent's WAL-index state,
    # believed the DMS lock taken and held none. Once the parent died, a `taskq status`
    # thought itself the last user and deleted the WAL under the running work horse: its
    # COMPLETED transition was lost and the task ran again.
    settings = Settings(data_dir=tmp_path)
    with db.session_scope(settings) as s:  # the parent now pools an open connection
        s.execute(text("SELECT 1"))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        held = -1
        try:
            with db.session_scope(settings) as s:
                s.execute(text("SELECT count(*) FROM tasks"))
                held = int(_dms_lock_held(os.getpid(), tmp_path / "taskq.db"))
        finally:
            os.write(write, str(held).encode())
            sys.stdout.flush()
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    held = int(os.read(read, 32) or b"-1")
    os.close(read)
    db.dispose_all()
    assert held == 1
