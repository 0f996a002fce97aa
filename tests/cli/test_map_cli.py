"""`healthmob map` and `healthmob report` as a user runs them, on a synthetic run folder."""

from __future__ import annotations

from pathlib import Path

from helpers import healthmob
from synthetic_risk import write_risk_run


def test_cli_map_and_report(tmp_path):
    run = write_risk_run(tmp_path / "run")
    done = healthmob("map", run)
    code, out, err = done.returncode, done.stdout, done.stderr
    assert code == 0, err
    assert [Path(line).name for line in out.splitlines()] == ["risk.gpkg", "top_corridors.csv",
                                                               "risk_map.png"]
    done = healthmob("report", run)
    code, out, err = done.returncode, done.stdout, done.stderr
    assert code == 0, err
    assert out.strip().splitlines()[-1] == str(run / "report.html")


def test_cli_exit_2_without_risk_nc(tmp_path):
    for command in ("map", "report"):
        done = healthmob(command, tmp_path)
        code, out, err = done.returncode, done.stdout, done.stderr
        assert code == 2, err
        lines = err.strip().splitlines()
        assert lines[-1].startswith("healthmob: error: ") and "risk.nc" in lines[-1]
        assert "Traceback" not in err and out == ""
    assert list(tmp_path.iterdir()) == []                   # nothing written


def test_cli_destination_writes_beside_the_runs_own_and_refuses_unknown_places(tmp_path):
    run = write_risk_run(tmp_path / "run")
    done = healthmob("report", run, "--destination", "ZAF,MOZ")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(run / "report-ZAF-MOZ.html")
    done = healthmob("map", run, "--destination", "world")
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.splitlines()[-1]).name == "risk_map-world.png"
    before = sorted(p.name for p in run.iterdir())
    for command in ("map", "report"):
        done = healthmob(command, run, "--destination", "XXX")
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr
        assert "destination 'XXX' is not a place of the run" in lines[0]
    assert sorted(p.name for p in run.iterdir()) == before  # nothing written
