"""The build's parts apart: the kinds of output, the executor, and the client that
alone writes what tasks return."""

from __future__ import annotations

import pytest

from printshop import build
from printshop.build import KINDS, STAGES, LocalPool, Manifest, Task, WorkerSetup, plan


def test_every_stage_has_a_kind_and_the_book_has_its_parts():
    assert set(KINDS) == {*STAGES, "parts"}
    assert all(kind.stage == stage for stage, kind in KINDS.items())
    assert KINDS["parts"].rank < KINDS["book"].rank < KINDS["dossiers"].rank


def test_each_kind_returns_the_files_it_says_it_writes(project, tmp_path):
    """Every task of a whole build (the book from parts): its result's files are its
    outputs, and the book joins the parts from its inputs as the client wrote them."""
    from printshop.book import BookOptions

    bestiary = build.check(project)
    setup = WorkerSetup(project, BookOptions(paper="a4")).with_card_presets()
    tasks, _ = plan(setup, bestiary, STAGES, True, Manifest(tmp_path), jobs=1, path="parallel")
    assert {task.stage for task in tasks} == set(KINDS)
    book = next(task for task in tasks if task.stage == "book")
    assert set(book.inputs) == {out for task in tasks if task.stage == "parts"
                                for out in task.outputs}
    seen = set()
    with LocalPool(setup, tmp_path, 1, bestiary) as executor:
        for result in executor.run(tasks):
            assert result.error is None, result.error
            assert sorted(result.files) == sorted(result.task.outputs), result.task.stage
            assert build.write_result(result, tmp_path)
            seen.add(result.task.stage)
    assert seen == set(KINDS)
    assert (tmp_path / book.outputs[0]).read_bytes().startswith(b"%PDF-")


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_task_whose_part_failed_is_not_made_and_says_so(project, tmp_path, jobs):
    bestiary = build.check(project)
    part = Task("parts", "no-such-entry", "part-key", ("x.pdf", "x.json"))
    other = Task("parts", "no-such-entry-either", "other-key", ("y.pdf", "y.json"))
    book = Task("book", None, "book-key", ("book/bestiary.pdf",), after=("part-key",),
                parts=(("no-such-entry", "part-key"),), inputs=("x.pdf", "x.json"))
    with LocalPool(WorkerSetup(project), tmp_path, jobs, bestiary) as executor:
        results = {result.task.key: result for result in executor.run([book, part, other])}
    assert set(results) == {"part-key", "other-key", "book-key"}
    assert "no-such-entry" in results["part-key"].error
    assert results["book-key"].error == "not made: a part it needs failed"
    assert results["book-key"].files == {}
    assert not list(tmp_path.rglob("*.pdf")), "nothing is written but by the client"


def test_only_the_client_writes(tmp_path, monkeypatch):
    """Workers return bytes: with writing taken from everything but the client, the
    build still writes every output, each through the client's `write_atomic`."""
    import shutil

    from click.testing import CliRunner

    from conftest import ROOT
    from printshop import output
    from printshop.build import commands, execute, kinds, worker
    from printshop.cli import main

    root = tmp_path / "p"
    shutil.copytree(ROOT / "entries", root / "entries")
    shutil.copy(ROOT / "printshop.toml", root)

    def forbidden(path, data):
        raise AssertionError(f"a worker wrote {path}")

    for module in (output, worker, kinds, execute):
        monkeypatch.setattr(module, "write_atomic", forbidden, raising=False)
    written = []
    real = commands.write_atomic
    monkeypatch.setattr(commands, "write_atomic",
                        lambda path, data: (written.append(path), real(path, data)))
    result = CliRunner().invoke(main, ["--project", str(root), "build", "--jobs", "1",
                                       "--only", "dossiers,cards"])
    assert result.exit_code == 0, result.output
    made = sorted(p for p in (root / "output").rglob("*")
                  if p.is_file() and ".printshop" not in p.parts)
    assert made and sorted(written) == made


class InOrder:
    """An executor of another kind: one worker here, each task's inputs handed to it
    as bytes (as a cluster's would be), nothing read from the output folder."""

    def __init__(self, setup: WorkerSetup, out) -> None:
        self.worker, self.out, self.closed = build.Worker(setup), out, False

    def run(self, tasks):
        from printshop.build.execute import in_order

        for task in in_order(tasks):
            yield self.worker.run(task, {name: (self.out / name).read_bytes()
                                         for name in task.inputs})

    def close(self):
        self.closed = True


def test_the_build_runs_on_any_executor(tmp_path):
    """`run_build` with an executor passed in: the same files as the local pool's, the
    parallel book joined on the client; the executor is left open."""
    import shutil

    from conftest import ROOT
    from printshop.config import load_project

    roots = []
    for name in ("local", "other"):
        root = tmp_path / name
        shutil.copytree(ROOT / "entries", root / "entries")
        shutil.copy(ROOT / "printshop.toml", root)
        roots.append(root)
    local, other = (load_project(root) for root in roots)
    options = dict(jobs=2, only=["dossiers", "book"], say=lambda text: None)
    assert build.run_build(local, **options).ok
    from printshop.book import BookOptions

    executor = InOrder(WorkerSetup(other, BookOptions(paper=other.config.print.paper)),
                       other.output_dir)
    outcome = build.run_build(other, executor=executor, **options)
    assert outcome.ok, outcome.failures
    assert not executor.closed
    for path in sorted((roots[0] / "output").rglob("*")):
        if path.is_file() and ".printshop" not in path.parts:
            twin = roots[1] / "output" / path.relative_to(roots[0] / "output")
            assert twin.read_bytes() == path.read_bytes(), path.name


def test_a_failed_part_fails_the_book_joined_on_the_client(project, tmp_path):
    from printshop.book import BookOptions
    from printshop.build.commands import with_book_joined

    class Failing:
        def run(self, tasks):
            for task in tasks:
                yield build.TaskResult(task, error="out of paper")

        def close(self):
            pass

    bestiary = build.check(project)
    setup = WorkerSetup(project, BookOptions(paper="a4"))
    tasks, _ = plan(setup, bestiary, ["book"], True, Manifest(tmp_path), path="parallel")
    results = list(with_book_joined(Failing(), tasks, build.Worker(setup, bestiary), tmp_path))
    assert [r.task.stage for r in results] == ["parts"] * (len(tasks) - 1) + ["book"]
    assert results[-1].error == "not made: a part it needs failed"
