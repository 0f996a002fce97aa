"""Bad files behind a config (model specs, places tables) and bad run folders and flags:
one ``healthmob: error:`` line naming the file, exit 2, no traceback, nothing written."""

from __future__ import annotations

import json

import pytest

from healthmob.cli import main

SIR = """name = "sir2"
long_name = "SIR"
compartments = [
  { id = "S", long_name = "susceptible" },
  { id = "I", long_name = "infectious", infectious = 1.0, symptomatic = true, DETECT },
  { id = "R", long_name = "recovered" },
]
transitions = [ { from = "I", to = "R", rate = "recovery" } ]
infections = [ { from = "S", to = "I", rate = "beta", tally = "incidence" } ]
tallies = { incidence = "new infections" }

[arrivals.sir_infection]
long_name = "infectious"
states = ["I"]

[parameters]
beta = { value = 0.5, units = "1/day", source = "test" }
recovery = { value = 0.25, units = "1/day", source = "test" }
""".replace("DETECT", 'detectable_by = ["symptoms"]')
PLACES = "id,name,population,lat,lon\nAAA,Aland,1000000,0,0\nBBB,Bland,500000,1,1\n"
CONFIG = """name = "files"
model = "{model}"
[places]
source = "{places}"
[time]
duration = "10 days"
step = "1 day"
[initial]
method = "fractions"
fractions = {{ S = 0.99, I = 0.01 }}
"""

MODELS = {
    "unknown top key": ("colour = 'red'\n" + SIR, "colour is not a known key"),
    "duplicate compartment": (SIR.replace('{ id = "R", long_name = "recovered" }',
                                          '{ id = "I", long_name = "again" }'), "I"),
    "transition to an unknown compartment": (SIR.replace('to = "R"', 'to = "Q"'), "Q"),
    "rate of an unknown parameter": (SIR.replace('rate = "recovery"', 'rate = "recovry"'),
                                     "recovry"),
    "parameter without units": (SIR.replace('recovery = { value = 0.25, units = "1/day", ',
                                            'recovery = { value = 0.25, '), "units"),
    "NaN parameter": (SIR.replace("value = 0.5", "value = nan"), "beta"),
    "negative parameter": (SIR.replace("value = 0.5", "value = -0.5"), "beta"),
    "unknown unit": (SIR.replace('units = "1/day", source = "test" }\nrecovery',
                                 'units = "1/fortnight", source = "test" }\nrecovery'),
                     "fortnight"),
    "arrival states matching nothing": (SIR.replace('states = ["I"]', 'states = ["Z"]'),
                                        "arrivals.sir_infection.states must be"),
    "arrival without long_name": (SIR.replace('long_name = "infectious"\nstates',
                                              "states"), "arrivals.sir_infection.long_name"),
    "arrival not a table": (SIR.replace('[arrivals.sir_infection]\nlong_name = "infectious"\n'
                                        'states = ["I"]\n', "arrivals = 3\n"),
                            "arrivals must be a table"),
    "unknown arrival key": (SIR.replace('states = ["I"]', 'states = ["I"]\ncolour = "red"'),
                            "arrivals.sir_infection.colour is not a known key"),
    "negative infectious weight": (SIR.replace("infectious = 1.0", "infectious = -1.0"),
                                   "infectious"),
    "unknown tally": (SIR.replace('tally = "incidence"', 'tally = "cases"'), "cases"),
    "detectable_by not a list": (SIR.replace('detectable_by = ["symptoms"]',
                                             'detectable_by = "symptoms"'), "detectable_by"),
    "compartment without id": (SIR.replace('{ id = "R", long_name = "recovered" }',
                                           '{ long_name = "recovered" }'), "id"),
    "no compartments": (SIR.replace("compartments = [", "old = [", 1), "compartments"),
    "not UTF-8": (SIR.replace("SIR", "S\xcdR"), "not valid TOML"),
    "syntax error": ("name = \n", "not valid TOML"),
    "empty": ("", "the model file is empty"),
    "a product of an unknown model": ('name = "p"\ncomponents = ["sir", "nosuch"]\n', "nosuch"),
    "a product of one model": ('name = "p"\ncomponents = ["sir"]\n', "components must be an"),
    "a model name with a space": ('name = "my model"\ncompartments = [{ id = \'S\' }]\n',
                                  "name must be a name of letters"),
    "a product of four HIV models": ('name = "p"\ncomponents = ["hiv", "hiv", "hiv", "hiv"]\n',
                                     "components must make at most 2,000 compartments; got "
                                     "50,625"),
}


def _refused(code, err, expected, where, tmp_path, before):
    lines = [line for line in err.splitlines() if line.startswith("healthmob: error:")]
    assert code == 2, err
    assert len(lines) == 1 and expected in lines[0] and str(where) in lines[0], err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before      # nothing written


@pytest.mark.parametrize("case", sorted(MODELS))
def test_bad_model_file_is_one_line(case, tmp_path, capsys):
    text, expected = MODELS[case]
    model = tmp_path / "model.toml"
    model.write_bytes(text.encode("latin-1" if case == "not UTF-8" else "utf-8"))
    (tmp_path / "places.csv").write_text(PLACES)
    config = tmp_path / "c.toml"
    config.write_text(CONFIG.format(model=model, places=tmp_path / "places.csv"))
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["run", str(config), "--output-dir", str(tmp_path / "runs")])
    _refused(code, capsys.readouterr().err, expected, tmp_path, tmp_path, before)


TABLES = {
    "no population column": (PLACES.replace(",population", "").replace(",1000000", "")
                             .replace(",500000", ""), "population"),
    "negative population": (PLACES.replace("500000", "-5"), "population"),
    "text population": (PLACES.replace("500000", "many"), "population"),
    "duplicate id": (PLACES.replace("BBB,Bland", "AAA,Bland"), "AAA"),
    "empty id": (PLACES.replace("BBB,Bland", ",Bland"), "id"),
    "latitude 200": (PLACES.replace(",1,1\n", ",200,1\n"), "lat"),
    "latitude north": (PLACES.replace(",1,1\n", ",north,1\n"), "lat"),
    "ragged row": (PLACES + "CCC,Cland,5\n", "places.csv"),
    "header only": (PLACES.splitlines()[0] + "\n", "places.csv"),
}


@pytest.mark.parametrize("case", sorted(TABLES))
def test_bad_places_table_is_one_line(case, tmp_path, capsys):
    text, expected = TABLES[case]
    (tmp_path / "places.csv").write_text(text)
    config = tmp_path / "c.toml"
    config.write_text(CONFIG.format(model="sir", places=tmp_path / "places.csv"))
    before = sorted(p.name for p in tmp_path.iterdir())
    code = main(["run", str(config), "--output-dir", str(tmp_path / "runs")])
    _refused(code, capsys.readouterr().err, expected, "places.csv", tmp_path, before)


def _resume_folder(tmp_path, manifest: bytes | None, results: bytes | None):
    run = tmp_path / "run-1"
    run.mkdir()
    if manifest is not None:
        (run / "manifest.json").write_bytes(manifest)
    if results is not None:
        (run / "results.nc").write_bytes(results)
    return run


RESUMES = {
    "no manifest": (None, None, "no manifest.json"),
    "garbage manifest": (b"\x00\xffnot json", None, "manifest.json: cannot read the manifest"),
    "manifest not an object": (b"[1, 2, 3]", None, "the manifest must be a JSON object"),
    "manifest without a config": (json.dumps({"status": "interrupted"}).encode(), None,
                                  "the manifest does not record the config"),
    "config gone": (json.dumps({"status": "interrupted", "config": "/nonexistent/c.toml"})
                    .encode(), None, "config file not found"),
    "complete run": (json.dumps({"status": "complete"}).encode(), b"", "nothing to resume"),
}


@pytest.mark.parametrize("case", sorted(RESUMES))
def test_a_bad_run_folder_to_resume_is_one_line(case, tmp_path, capsys):
    manifest, results, expected = RESUMES[case]
    run = _resume_folder(tmp_path, manifest, results)
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    code = main(["run", "--resume", str(run)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("healthmob: error:")]
    assert code == 2 and len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before   # status unchanged


def test_resuming_a_folder_that_does_not_exist_is_one_line(tmp_path, capsys):
    code = main(["run", "--resume", str(tmp_path / "nope")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("healthmob: error:") == 1 and "nope" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, expected", [
    (["report", "{run}", "--destination", "XXX"], "destination 'XXX' is not a place"),
    (["map", "{run}", "--destination", "XXX"], "destination 'XXX' is not a place"),
    (["report", "{tmp}/nosuch"], "must be an existing folder"),
    (["validate", "{tmp}/nosuch/world.toml"], "config file not found"),
    (["surveil", "{tmp}/nosuch", "--observed", "who-notifications"], "nosuch"),
])
def test_bad_command_line_is_one_line(argv, expected, tmp_path, capsys):
    from synthetic_risk import write_risk_run

    run = write_risk_run(tmp_path / "run")
    before = sorted(p.name for p in run.iterdir())
    code = main([a.format(run=run, tmp=tmp_path) for a in argv])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("healthmob: error:")]
    assert code == 2 and len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in err and sorted(p.name for p in run.iterdir()) == before


NETWORK = """name = "net"
[network]
model = "sir"
n_nodes = {n}
[network.networks.g]
type = "{kind}"
{key} = {value}
"""


@pytest.mark.parametrize("n, kind, key, value, expected", [
    (100, "erdos_renyi", "mean_degree", 500.0, "mean_degree must be <= n_nodes - 1 (99)"),
    (100, "household", "household_size", 400.0, "household_size must be <= n_nodes (100)"),
    (50, "configuration", "k_min", 80, "k_min must be <= n_nodes - 1 (49)"),
    (10**9, "erdos_renyi", "mean_degree", 5.0, "more than the memory budget"),
])
def test_a_network_that_cannot_be_built_is_one_line(n, kind, key, value, expected, tmp_path,
                                                    capsys):
    config = tmp_path / "net.toml"
    config.write_text(NETWORK.format(n=n, kind=kind, key=key, value=value))
    code = main(["network", str(config), "--output-dir", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("healthmob: error:")]
    assert code == 2 and len(lines) == 1 and expected in lines[0] and str(config) in lines[0]
    assert "Traceback" not in err and not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv, expected", [
    (["run", "c.toml", "--scheduler", "not an address"], "must be a dask scheduler address"),
    (["run", "c.toml", "--scheduler", "tcp://host:99999"], "must be a dask scheduler address"),
    (["run", "c.toml", "--scheduler", "tcp://127.0.0.1:1"], "no dask scheduler answers there"),
    (["run", "c.toml", "--output-dir", ""], "must name a folder; got an empty string"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["report"], "the following arguments are required: RUN_DIR"),
    (["run", "--no-such-flag"], "unrecognized arguments: --no-such-flag"),
])
def test_a_bad_flag_is_one_line(argv, expected, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1 and expected in err, err
    assert err.startswith("healthmob: error: ") and list(tmp_path.iterdir()) == []


def test_cluster_script_without_a_cluster_table_names_the_file_and_the_table(capsys):
    code = main(["cluster-script", "world"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("healthmob: error:") == 1
    assert "world.toml: cluster-script needs a [cluster] table" in err and "kind" in err


def test_validate_accepts_the_shipped_network_config(capsys):
    assert main(["validate", "network-sir"]) == 0
    assert "valid network config (sir model, 4 networks" in capsys.readouterr().out
