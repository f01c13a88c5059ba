"""gunicorn's settings for every Khutwa node (`gunicorn -c python:khutwa.config.gunicorn`).

Prometheus counters of the node's workers are summed through prometheus_client's multiprocess
mode: one folder per node (PROMETHEUS_MULTIPROC_DIR, default var/metrics/<port>), emptied when
the node starts, each dead worker's live gauges dropped. Access logs are left to the structured
request log (ops/logs.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from khutwa.config.files import restrict_umask

restrict_umask()


def _metrics_dir(bind: str) -> Path:
    var = Path(os.environ.get("KHUTWA_VAR_DIR") or Path(__file__).resolve().parents[3] / "var")
    default = var / "metrics" / bind.replace(":", "-").replace("/", "-").strip("-")
    return Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(default)))


def on_starting(server: Any) -> None:
    """In the master, before any worker: the workers inherit the folder's name."""
    folder = _metrics_dir(str(server.cfg.bind[0]) if server.cfg.bind else "node")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o750)


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
