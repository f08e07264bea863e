"""The CPU time a local process has used, for the benchmarks that count what a server spends."""

from __future__ import annotations

import os
from pathlib import Path


def process_cpu(pid: int | str) -> float:
    """CPU seconds (user and system) process `pid` has used, 0 once it is gone or where
    /proc does not show it (a server on another machine) (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
