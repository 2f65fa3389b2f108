"""Which way the book is printed: one WeasyPrint pass, or records in parallel, joined.

The single pass (`single.lay_out`) lays out the whole book as one document in
one process. The parallel path (`parallel`, run by the build) lays out each record alone
in worker processes and joins them; it pays for what the single pass does not
(the front matter, appendix and index as documents of their own, and the join),
and wins only when the records' layout, shared by the workers, outweighs that.
`choose` predicts both from a cost model and takes the faster; its reason is
logged (`printshop -v book`, `printshop -v build`).

The model, in seconds of wall time on the machine it was measured on (only the
ratios between its constants matter, since both paths run on the same machine):

    single pass   SINGLE_FIXED   + SINGLE_PER_RECORD * records
    parallel      PARALLEL_FIXED + PART_PER_RECORD * records to lay out / workers
                                 + BODY_JOIN_PER_RECORD * records / workers
                                 + JOIN_PER_RECORD * records

where workers = min(jobs, cores, records to lay out). With one worker the
parallel path never wins on time (a part costs about what a record costs in the
single pass, and the join comes on top; the model asks for a MARGIN), but its memory stays flat while the
single pass's grows with the book (about 3.5 MB a record): above
SINGLE_PASS_MAX_RECORDS records the parallel path is taken for memory's sake.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..report import plural

# ---- The model's constants: measured, not guessed -----------------------------------
#
# Measured on the 2-core machine this project is built on (shared with other jobs:
# medians of 2-3 runs, both paths alternated in one run), WeasyPrint 70:
#
# - SINGLE_*: `benchmarks/bench_book.py --sizes 1 2 4 12 50 --rounds 2 --no-plain`,
#   the single pass's seconds against its records: 1.62 s at 1 synthetic record,
#   2.66 at 2, 7.25 at 12, 26-29 at 50: about 1.1 s of imports and set-up, then
#   0.5 s a record (layout, the index pass, writing).
# - PART_PER_RECORD: a record laid out alone and written (whole fonts) by a warm
#   process, median over 11 synthetic records in one process: 0.41-0.47 s.
# - JOIN_PER_RECORD: the wall time per record after the last part is laid out
#   (`printshop -v book` logs each step at DEBUG). The parts are joined while the
#   workers lay out the rest (about 0.02 s of the parent's CPU a record, in the
#   parts' time), so this is now mostly the index, laid out in a worker from the
#   moment the last part is in (1.7-2 s at 50 records, 8.4 s at 200), then the
#   front matter put before the body and the book written: 2.4 s at 50 records,
#   9.8 s at 200 (it was 3.5 s at 50 and 10.1 s at 200 when the parent laid out
#   the front matter and joined everything after the parts).
# - BODY_JOIN_PER_RECORD: the parent's CPU joining the parts as they come in
#   (`join.Joined.add_part`, 50 cached parts joined in a warm process:
#   0.9-1.2 s): shared with the workers' cores, so it counts like their work; with
#   one worker (the parts laid out in the parent) it comes on top.
# - PARALLEL_FIXED: the rest, fitted to the parallel path's seconds at 1, 2, 4 and
#   12 records (2.10, 2.37, 3.28, 4.28): imports and set-up before the workers are
#   forked, the pool, the small pieces, the join's own set-up.
#
# With 2 workers and the MARGIN the parallel path is chosen from 3 records on
# (measured: 1 record 1.08-1.3x the single pass, 2 records 0.81-0.89x, 4 bundled
# ones 0.70-0.76x).
SINGLE_FIXED = 1.1
SINGLE_PER_RECORD = 0.5
PARALLEL_FIXED = 1.5
PART_PER_RECORD = 0.42
JOIN_PER_RECORD = 0.05
BODY_JOIN_PER_RECORD = 0.02
#: The parallel path is taken only when predicted this much faster (a fraction of
#: the single pass): where the two are close, the single pass (one process, no
#: join) is the safer bet.
MARGIN = 0.05
#: Above this many records the single pass is not chosen whatever the time: its
#: memory grows with the book (727 MB at 200 records), the parallel path's does not.
SINGLE_PASS_MAX_RECORDS = 120


@dataclass(frozen=True)
class BookPath:
    """The path chosen for a book, and why."""

    parallel: bool
    workers: int  # worker processes for the parallel path
    reason: str

    @property
    def name(self) -> str:
        return "parallel" if self.parallel else "single pass"

    def describe(self) -> str:
        """The log line: "book: single pass: 4 entries, ..."."""
        return f"book: {self.name}: {self.reason}"


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def predict_single(records: int) -> float:
    return SINGLE_FIXED + SINGLE_PER_RECORD * records


def predict_parallel(records: int, workers: int, cached: int = 0) -> float:
    to_lay_out = max(0, records - cached)
    return (PARALLEL_FIXED + PART_PER_RECORD * to_lay_out / max(1, workers)
            + BODY_JOIN_PER_RECORD * records / max(1, workers) + JOIN_PER_RECORD * records)


def break_even(workers: int) -> int | None:
    """The fewest records for which the parallel path is predicted faster with
    ``workers`` workers (none: never)."""
    if workers <= 1:
        return None
    gain = ((1 - MARGIN) * SINGLE_PER_RECORD - (PART_PER_RECORD + BODY_JOIN_PER_RECORD) / workers
            - JOIN_PER_RECORD)
    if gain <= 0:
        return None
    return max(1, int((PARALLEL_FIXED - (1 - MARGIN) * SINGLE_FIXED) / gain) + 1)


def choose(records: int, jobs: int | None = None, forced: str | None = None,
           cached: int = 0, available: int | None = None) -> BookPath:
    """The path for a book of ``records`` entries with ``jobs`` worker processes at
    most (default: one per core); ``forced`` ("single" or "parallel") overrides the
    model; ``cached``: records whose parts are already laid out (`printshop build`)."""
    available = available or cores()
    jobs = jobs or available
    workers = max(1, min(jobs, available, max(1, records - cached)))
    entries = plural(records, "entry")
    if forced == "single":
        return BookPath(False, 1, f"{entries}, asked for (--single-pass)")
    if forced == "parallel":
        return BookPath(True, max(1, min(jobs, records)),
                        f"{entries}, asked for (--parallel)")
    single, parallel = predict_single(records), predict_parallel(records, workers, cached)
    figures = f"predicted {parallel:.1f} s in parallel, {single:.1f} s in one pass"
    wins = parallel < (1 - MARGIN) * single
    if records > SINGLE_PASS_MAX_RECORDS and not wins:
        return BookPath(True, workers, f"{entries}, above the "
                        f"{SINGLE_PASS_MAX_RECORDS} where the single pass's memory grows "
                        f"too large ({figures})")
    if wins:
        done = f", {cached} already laid out" if cached else ""
        return BookPath(True, workers, f"{entries}{done}, "
                        f"{plural(workers, 'worker')}: {figures}")
    even = break_even(workers)
    if cached:
        why = f"{entries} ({cached} already laid out)"
    elif even is None:
        why = (f"{entries}, {plural(workers, 'worker')}: the "
               f"parallel path cannot win with {'one' if workers == 1 else 'so few'}")
    else:
        why = (f"{entries}, below the {even} where {plural(workers, 'worker')} pay for "
               f"their start and the join")
    return BookPath(False, 1, f"{why} ({figures})")
