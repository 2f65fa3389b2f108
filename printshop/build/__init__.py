"""Making outputs: the plan (what to make, what is up to date), the kinds of output,
the workers that make them, the executors that run the workers, and the commands,
the client that writes what they make. See docs/architecture.md, "The build"."""

from .commands import book, build_lock, cards, dossiers, run_build, write_result
from .execute import Executor, LocalPool
from .kinds import KINDS, Kind
from .plan import (PARTS_DIR, STAGES, STATE_DIR, Manifest, Task, TaskResult, check,
                   fingerprint, plan)
from .worker import Worker, WorkerSetup

__all__ = ["KINDS", "PARTS_DIR", "STAGES", "STATE_DIR", "Executor", "Kind", "LocalPool",
           "Manifest", "Task", "TaskResult", "Worker", "WorkerSetup", "book", "build_lock",
           "cards", "check", "dossiers", "fingerprint", "plan", "run_build", "write_result"]
