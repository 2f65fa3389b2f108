"""`printshop build --scheduler`: the build on a Dask cluster makes the bytes a local
build makes, reports a failed task while building the rest, refuses a worker
running another printshop, and survives a worker killed mid-build."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import cloudpickle  # distributed's (the test extra installs it: no skipping)
import distributed

from conftest import ROOT
from printshop.build.dask import QUIET_INTERVALS
from printshop.cli import main
from printshop.errors import PrintshopError
from printshop.report import Outcome
from printshop.synthetic import write_synthetic

ENTRIES = 8
# The workers cannot import this file: what it sends them travels by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def cluster():
    """Two single-thread worker processes on this machine."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=40) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A project of synthetic entries (layouts and fonts are printshop's)."""
    root = tmp_path_factory.mktemp("synthetic") / "p"
    write_synthetic(root / "entries", ENTRIES)
    shutil.copy(ROOT / "printshop.toml", root)
    return root


@pytest.fixture(scope="module")
def local_outputs(synthetic, tmp_path_factory):
    """What a local build of the synthetic project writes (two processes, as the
    cluster has two workers: the book takes the same path)."""
    root = fresh_copy(synthetic, tmp_path_factory.mktemp("local"))
    code, output = build(root, "--jobs", "2")
    assert code == 0, output
    return outputs(root)


def fresh_copy(project: Path, where: Path) -> Path:
    root = where / "p"
    shutil.copytree(project, root, ignore=shutil.ignore_patterns("output"))
    return root


def build(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--project", str(root), "build", "-q", *args])
    return result.exit_code, result.output


def outputs(root: Path) -> dict[str, bytes]:
    """Every output but the build's own state."""
    out = root / "output"
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".printshop" not in p.relative_to(out).parts}


def test_a_cluster_build_makes_the_bytes_of_a_local_one(cluster, synthetic, local_outputs,
                                                         tmp_path):
    root = fresh_copy(synthetic, tmp_path)
    code, output = build(root, "--scheduler", cluster.scheduler_address)
    assert code == 0, output
    assert "dashboard" in output
    made = outputs(root)
    assert sorted(made) == sorted(local_outputs)
    assert [name for name in made if made[name] != local_outputs[name]] == []
    code, output = build(root, "--scheduler", cluster.scheduler_address)
    assert code == 0, output
    assert outputs(root) == made, "up to date: nothing sent, nothing written"


def _housekeeping(dask_worker) -> dict:
    callbacks = dask_worker.periodic_callbacks
    return {"profiling": any(callbacks[name].is_running() for name in ("profile", "profile-cycle")
                             if name in callbacks),
            **{name: callbacks[name].callback_time for name in QUIET_INTERVALS
               if name in callbacks}}


def test_a_build_quietens_the_workers_housekeeping(cluster, synthetic, tmp_path):
    """No statistical profiler and rarer monitors on the workers once a build has
    started (they cost the renderers a quarter of a dossier's time on 2 cores)."""
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        client.restart()  # workers as Dask starts them
        before = client.run(_housekeeping)
        assert all(state["profiling"] for state in before.values()), before
        root = fresh_copy(synthetic, tmp_path)
        code, output = build(root, "--only", "cards", "--scheduler", cluster.scheduler_address)
        assert code == 0, output
        after = client.run(_housekeeping)
    assert after and all(state == {"profiling": False, **QUIET_INTERVALS}
                         for state in after.values()), after


def _jam_the_cards_of(slug: str | None) -> None:
    """On a worker: the cards of ``slug`` fail to draw (None: they draw again)."""
    from printshop.build import kinds

    cards = type(kinds.KINDS["cards"])
    original = cards.__dict__.get("_unjammed", cards.make)
    cards._unjammed = original
    if slug is None:
        cards.make = original
        return

    def make(self, worker, task, inputs):
        if task.slug == slug:
            raise RuntimeError("the card press jammed")
        return original(self, worker, task, inputs)

    cards.make = make


def test_a_failed_task_is_reported_and_the_rest_built(cluster, scratch, tmp_path):
    from conftest import seed_data

    scratch.write("first-role", {**seed_data(), "title": "First Role"})
    scratch.write("second-role", {**seed_data(), "title": "Second Role"})
    client = distributed.Client(cluster, set_as_default=False)
    try:
        client.run(_jam_the_cards_of, "second-role")
        result = CliRunner().invoke(main, ["--project", str(scratch.root), "build", "-q",
                                           "--only", "dossiers,cards",
                                           "--scheduler", cluster.scheduler_address])
    finally:
        client.run(_jam_the_cards_of, None)
        client.close()
    assert result.exit_code == 1, result.output
    assert "cards second-role: RuntimeError: the card press jammed" in result.output
    out = scratch.root / "output"
    assert (out / "cards" / "first-role-og.png").is_file()
    assert not (out / "cards" / "second-role-og.png").exists()
    assert {p.name for p in (out / "dossiers").iterdir()} == {"first-role.pdf",
                                                             "second-role.pdf"}


def _pretend_version(version: str) -> None:
    import printshop

    printshop.__version__ = version


def test_a_worker_running_another_printshop_is_refused(cluster, scratch):
    from conftest import seed_data
    from printshop import __version__

    scratch.write("first-role", seed_data())
    client = distributed.Client(cluster, set_as_default=False)
    try:
        client.run(_pretend_version, "0.0.1", workers=[list(client.scheduler_info()
                                                            ["workers"])[0]])
        code, output = build(scratch.root, "--scheduler", cluster.scheduler_address)
    finally:
        client.run(_pretend_version, __version__)
        client.close()
    assert code == 1
    assert f"runs printshop 0.0.1, this build printshop {__version__}" in output
    assert "Traceback" not in output
    assert not (scratch.root / "output" / "dossiers").exists()


def test_a_task_on_a_worker_of_another_version_is_refused(project):
    """A worker that joined after the check at the start: its tasks say so."""
    from printshop import __version__
    from printshop.build import Task, WorkerSetup
    from printshop.build.bundle import make_bundle
    from printshop.build.dask import run_on_worker

    task = Task("dossiers", "x", "k", ())
    with pytest.raises(PrintshopError, match=f"this process runs printshop {__version__}, "
                                             "this build printshop 0.0.1"):
        run_on_worker(make_bundle(project), WorkerSetup(project), "t", "0.0.1", task, {}, [])


def test_an_unreachable_scheduler_is_one_line(scratch, monkeypatch):
    from conftest import seed_data

    monkeypatch.setattr("printshop.build.dask.CONNECT_SECONDS", 1)
    scratch.write("first-role", seed_data())
    code, output = build(scratch.root, "--scheduler", "tcp://127.0.0.1:9")
    assert code == 1
    assert output.startswith("Error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
    assert len(output.strip().splitlines()) == 1, output


def test_missing_distributed_names_the_extra(scratch, monkeypatch):
    from conftest import seed_data

    monkeypatch.setitem(sys.modules, "distributed", None)  # as if not installed
    scratch.write("first-role", seed_data())
    code, output = build(scratch.root, "--scheduler", "tcp://127.0.0.1:9")
    assert code == 1
    assert output == ("Error: building on a Dask cluster needs distributed: "
                      "pip install 'printshop[dask]'\n")


def test_the_scheduler_option_then_environment_then_config(scratch, monkeypatch):
    from printshop import build as build_package

    asked = []
    monkeypatch.setattr(build_package, "run_build",
                        lambda *args, scheduler=None, **kw: asked.append(scheduler) or
                        Outcome())
    (scratch.root / "printshop.toml").write_text('[build]\nscheduler = "tcp://toml:1"\n')
    monkeypatch.delenv("PRINTSHOP_SCHEDULER", raising=False)
    build(scratch.root)
    monkeypatch.setenv("PRINTSHOP_SCHEDULER", "tcp://env:1")
    build(scratch.root)
    build(scratch.root, "--scheduler", "tcp://option:1")
    assert asked == ["tcp://toml:1", "tcp://env:1", "tcp://option:1"]
    (scratch.root / "printshop.toml").write_text('[build]\nschedular = "tcp://toml:1"\n')
    code, output = build(scratch.root)
    assert code == 1 and "build.schedular: Extra inputs are not permitted" in output


def test_messages_name_the_client_paths_not_the_worker_copy(project, tmp_path):
    from printshop.build import Task, TaskResult
    from printshop.build.bundle import load_bundle, make_bundle
    from printshop.build.dask import _client_paths

    copy = load_bundle(make_bundle(project), tmp_path)
    result = TaskResult(Task("dossiers", "x", "k", ()),
                        messages=[f"{copy.entries_dir}/x.yaml: odd"],
                        error=f"cannot read {copy.layouts_dir}/dossier.css")
    _client_paths(result, copy, project)
    assert result.messages == [f"{project.entries_dir}/x.yaml: odd"]
    assert result.error == f"cannot read {project.layouts_dir}/dossier.css"


# ---- End to end: a real scheduler and workers, elsewhere, one of them killed ----

def _start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"),
                            start_new_session=True)


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while not condition():
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_end_to_end_a_worker_killed_mid_build(synthetic, local_outputs, tmp_path):
    root = fresh_copy(synthetic, tmp_path)
    elsewhere = tmp_path / "workers"  # not the project: nothing there to read
    elsewhere.mkdir()
    address_file = tmp_path / "scheduler.json"
    processes = []
    try:
        processes.append(_start(["dask", "scheduler", "--scheduler-file", str(address_file),
                                 "--host", "127.0.0.1", "--port", "0",
                                 "--dashboard-address", ":0"], elsewhere,
                                tmp_path / "scheduler.log"))
        _wait_for(address_file.is_file, 30, "the scheduler")
        for n in range(2):
            processes.append(_start(["dask", "worker", "--nthreads", "1", "--scheduler-file",
                                     str(address_file), "--host", "127.0.0.1",
                                     "--local-directory", str(elsewhere / f"w{n}")],
                                    elsewhere, tmp_path / f"worker{n}.log"))
        address = json.loads(address_file.read_text())["address"]
        with distributed.Client(address, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)  # as the local build: the book's parts
        builder = subprocess.Popen(
            [sys.executable, "-m", "printshop", "--project", str(root), "build",
             "--scheduler", address], cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        processes.append(builder)
        _wait_for(lambda: any((root / "output").rglob("*.pdf")), 60, "the first output")
        os.killpg(processes[1].pid, signal.SIGKILL)
        assert builder.poll() is None, "killed while the build was running"
        output = builder.communicate(timeout=120)[0].decode()
        assert builder.returncode == 0, output
        made = outputs(root)
        assert sorted(made) == sorted(local_outputs)
        assert [name for name in made if made[name] != local_outputs[name]] == []
        assert not list(elsewhere.glob("*.pdf")) and not (elsewhere / "output").exists()
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
