"""The real command line, through click's CliRunner and as a process."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import yaml
from click.testing import CliRunner

from conftest import ROOT, SEED, seed_data
from printshop.cli import main
from printshop.load import MODELINE


def run(*args, project=ROOT):
    runner = CliRunner()
    return runner.invoke(main, ["--project", str(project), *args], catch_exceptions=False)


def test_check_all_bundled_entries():
    result = run("check")
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("OK")


def test_check_reports_problems_and_exits_1(scratch, monkeypatch):
    data = seed_data()
    data["flight_risk"]["percent"] = 150
    data["salry"] = data.pop("salary")
    scratch.write("broken-role", data)
    scratch.write("good-role", seed_data())
    monkeypatch.chdir(scratch.root)
    result = run("check", project=scratch.root)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(line.startswith("entries/broken-role.yaml:") and
               line.endswith("flight_risk.percent: must be 0-100, got 150") for line in lines)
    assert any("salry: unknown field; did you mean 'salary'?" in line for line in lines)
    assert any("salary: required field is missing" in line for line in lines)
    assert lines[-1] == "Error: 3 problems in 1 file"
    assert "Traceback" not in result.output


def test_check_one_entry_by_slug_and_by_path(scratch, monkeypatch):
    scratch.write("good-role", seed_data())
    monkeypatch.chdir(scratch.root)
    assert run("check", "good-role", project=scratch.root).exit_code == 0
    path = scratch.root.parent / "loose.yaml"
    path.write_text(MODELINE + "\n" + yaml.safe_dump(seed_data(), allow_unicode=True))
    result = run("check", str(path), project=scratch.root)
    assert result.exit_code == 0, result.output
    result = run("check", "no-such-role", project=scratch.root)
    assert result.exit_code == 1 and "no-such-role: no such entry" in result.output


def test_dossier_command_writes_pdfs_and_skips_broken_entries(scratch, monkeypatch, tmp_path):
    scratch.write("good-role", seed_data())
    scratch.write("broken-role", "title: [oops\n")
    monkeypatch.chdir(scratch.root)
    out = tmp_path / "out"
    result = run("dossier", "--output", str(out), "--paper", "letter", project=scratch.root)
    assert result.exit_code == 1, "a broken entry fails the command"
    assert "entries/broken-role.yaml:2:1: YAML syntax error" in result.output
    assert "1 dossier written" in result.output
    pdf = out / "dossiers" / "good-role.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert not (out / "dossiers" / "broken-role.pdf").exists()
    assert [p.name for p in (out / "dossiers").iterdir()] == ["good-role.pdf"], "no temp files left"


def test_build_writes_every_bundled_dossier(tmp_path, monkeypatch):
    from printshop.load import load_bestiary

    monkeypatch.chdir(tmp_path)
    project_copy = tmp_path / "p"
    import shutil
    shutil.copytree(ROOT / "entries", project_copy / "entries")
    shutil.copy(ROOT / "printshop.toml", project_copy)
    result = run("build", project=project_copy)
    assert result.exit_code == 0, result.output
    slugs = sorted(load_bestiary(project_copy / "entries").loaded)
    assert sorted(p.stem for p in (project_copy / "output" / "dossiers").glob("*.pdf")) == slugs
    assert SEED in slugs


def test_schema_command_matches_the_committed_schema_and_entries_validate():
    result = run("schema")
    schema = json.loads(result.output)
    committed = json.loads((ROOT / "entries" / "entry.schema.json").read_text())
    assert schema == committed, "run: printshop schema > entries/entry.schema.json"
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted((ROOT / "entries").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert text.startswith(MODELINE), f"{path.name} lacks the schema modeline"
        jsonschema.validate(yaml.safe_load(text), schema)
    bad = seed_data()
    bad["flight_risk"]["percent"] = 150
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(bad))


def test_help_does_not_import_weasyprint():
    code = ("import sys; from printshop.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'weasyprint' not in sys.modules, 'weasyprint imported'\n"
            "print('clean')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "check" in done.stdout and "dossier" in done.stdout and "clean" in done.stdout


def test_python_m_printshop_and_console_script():
    done = subprocess.run([sys.executable, "-m", "printshop", "--version"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.startswith("printshop, version ")
    script = ROOT / ".venv" / "bin" / "printshop"
    if script.exists():
        done = subprocess.run([str(script), "check"], capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0, done.stderr


def test_config_errors_are_clear(tmp_path):
    (tmp_path / "printshop.toml").write_text('[colours]\naccent = "red"\n[print]\npaper = "a3"\n')
    result = CliRunner().invoke(main, ["--project", str(tmp_path), "check"])
    assert result.exit_code == 1
    assert "colours.accent: must be a colour like '#1a2b3c', got 'red'" in result.output
    assert "print.paper:" in result.output
    assert "Traceback" not in result.output
