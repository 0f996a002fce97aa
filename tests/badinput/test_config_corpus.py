"""Bad inputs, each refused with one line: exit 2, one ``healthmob: error:`` line naming the
file and the key or row, no traceback, nothing written (issue 16). Run in-process through
the CLI's ``main`` (the same code a user's command runs), so the corpus is fast."""

from __future__ import annotations

import pytest
from helpers import WORLD_CONFIG

from healthmob.cli import main

IGRA = "screens = [ { stage = 'post_entry', test = 'igra', sensitivity = 0.8 } ]\n"


def _replace(old: str, new: str):
    return lambda base: base.replace(old, new, 1)


def _append(text: str):
    return lambda base: base + text


def _policy(keys: str, screens: str = IGRA):
    """A config whose headline policy ``x`` has ``keys`` and ``screens``."""
    return _append(f"[risk]\npolicy = 'x'\n[risk.policies.x]\n{keys}{screens}")


CASES = {
    # top level
    "empty name": (_replace('name = "bad"', 'name = ""'), "name must be a run name"),
    "name with ..": (_replace('name = "bad"', 'name = "../escaped"'), "got '../escaped'"),
    "name with /": (_replace('name = "bad"', 'name = "a/b"'), "name must be a run name"),
    "name starting with .": (_replace('name = "bad"', 'name = ".hidden"'),
                             "not starting with '.'"),
    "name of 300 characters": (_replace('name = "bad"', f'name = "{"x" * 300}"'),
                               "at most 100 characters"),
    "name with NUL": (_replace('name = "bad"', 'name = "a\\u0000b"'), "name must be a run name"),
    "name a number": (_replace('name = "bad"', "name = 5"), "name must be a run name"),
    "absolute name": (_replace('name = "bad"', 'name = "/tmp/x"'), "name must be a run name"),
    "no model": (_replace('model = "tb"', ""), "model is required"),
    "unknown model": (_replace('model = "tb"', 'model = "nosuchmodel"'),
                      "nosuchmodel: model file not found"),
    "model path that does not exist": (_replace('model = "tb"', 'model = "nosuch/tb.toml"'),
                                       "model file not found"),
    "negative seed": (_replace("seed = 1", "seed = -1"), "seed must be an integer in [0, 2^64)"),
    "seed above 2^64": (_replace("seed = 1", f"seed = {2**64}"), "seed must be an integer"),
    "fractional seed": (_replace("seed = 1", "seed = 1.5"), "seed must be an integer"),
    "text seed": (_replace("seed = 1", 'seed = "one"'), "seed must be an integer"),
    "unknown engine": (_replace("seed = 1", 'seed = 1\nengine = "quantum"'),
                       "engine must be one of"),
    "unknown top key": (_replace("seed = 1", "seed = 1\ncolour = 'red'"),
                        "colour is not a known key"),
    "unknown parameter set": (_replace("seed = 1", "seed = 1\nparameter_set = 'nope'"),
                              "parameter_set"),
    # [time]
    "duration not a duration": (_replace('"60 days"', '"forever"'), "time.duration must be"),
    "negative duration": (_replace('"60 days"', '"-1 days"'), "time.duration must be"),
    "zero duration": (_replace('"60 days"', '"0 days"'), "time.duration must be"),
    "step not a duration": (_replace('"1 month"', '"often"'), "time.step must be"),
    "a 1e-9 day step": (_replace('"1 month"', '"0.000000001 day"'), "memory budget"),
    "start not a date": (_replace("[time]", "[time]\nstart = 'yesterday'"), "time.start"),
    "unknown time key": (_replace("[time]", "[time]\nend = 2030"), "time.end is not a known key"),
    # [places]
    "places file missing": (_replace('source = "world"', 'source = "nosuch.csv"'),
                            "nosuch.csv"),
    "unknown place id": (_replace('"PAK"]', '"XXX"]'), "XXX"),
    "ids not an array": (_replace('ids = ["GBR", "IND", "PAK"]', 'ids = "GBR"'),
                         "places.ids must be an array of strings"),
    # [initial]
    "unknown initial method": (_replace('method = "fractions"', 'method = "magic"'),
                               "initial.method"),
    "fraction of an unknown compartment": (_replace("LL = 0.3", "QQ = 0.3"), "QQ"),
    "negative fraction": (_replace("S = 0.7, LL = 0.3", "S = 1.3, LL = -0.3"),
                          "initial.fractions"),
    "fractions summing to 2": (_replace("S = 0.7", "S = 1.7"), "initial.fractions"),
    # [parameters]
    "NaN parameter": (_append("[parameters]\nbeta = nan\n"), "parameters.beta must be a number"),
    "infinite parameter": (_append("[parameters]\nbeta = inf\n"),
                           "parameters.beta must be a number"),
    "negative parameter": (_append("[parameters]\nbeta = -1\n"),
                           "parameters.beta must be a number >= 0"),
    "text parameter": (_append("[parameters]\nbeta = 'fast'\n"),
                       "parameters.beta must be a number"),
    "a 1e308 rate": (_append("[parameters]\ndetection = 1e308\n"),
                     "the rate of transition A -> T (from parameters ['detection']) must be "
                     "finite, >= 0 and at most 10000 per day; got 2.7"),
    "a zero divisor in a rate": (_append("[parameters]\ndur_treatment = 0\n"),
                                 "(from parameters ['dur_treatment', 'p_treatment_success']) "
                                 "must be finite, >= 0 and at most 10000 per day; got inf"),
    "seeding more people than the place has": (
        _replace("LL = 0.3 }", "LL = 0.3 }\nseeds = [ { place = 'GBR', compartment = 'A', "
                 "count = 1e12 } ]"), "initial.seeds[0].count must be at most the"),
    "two seeds that together take more than there is": (
        _replace("LL = 0.3 }", "LL = 0.3 }\nseeds = [ { place = 'PAK', compartment = 'A', "
                 "count = 1e8, from = 'LL' }, { place = 'PAK', compartment = 'T', "
                 "count = 1e8, from = 'LL' } ]"), "initial.seeds[1].count must be at most"),
    "a sweep of 1e10 scenarios": (
        _append("[ensemble.sweep]\nparameters = { beta = [%s], detection = [%s] }\n"
                % (",".join(["1"] * 100_000), ",".join(["1"] * 100_000))),
        "ensemble: the run would compute 10,000,000,000 members"),
    "unknown parameter": (_append("[parameters]\nbetta = 1\n"), "betta"),
    # [mobility]
    "unknown layer": (_replace('"air", "migration"', '"air", "teleport"'), "teleport"),
    "missing corridor file": (_append("corridors = ['nosuch.gpkg']\n"), "nosuch.gpkg"),
    "unknown closed-border place": (_append("[mobility.land]\nclosed_borders = ['XXX-YYY']\n"),
                                    "XXX"),
    "negative stay": (_append("[mobility.air]\nstay_days = -1\n"), "mobility.air.stay_days"),
    "reference year 1800": (_append("reference_year = 1800\n"), "mobility.reference_year"),
    "visa factor above 1": (_append("visa_required = 2\n"), "mobility.visa_required"),
    "unknown layer key": (_append("[mobility.air]\nspeed = 900\n"), "mobility.air.speed"),
    "unknown traveller category": (_append("[mobility.migration]\ncategory = 'pilgrim'\n"),
                                   "pilgrim"),
    # [risk]
    "unknown policy": (_append("[risk]\npolicy = 'scan_everyone'\n"),
                       "risk.policy must be one of the policies"),
    "enabled as text": (_append("[risk]\nenabled = 'no'\n"), "risk.enabled must be true or false"),
    "time in the middle": (_append("[risk]\ntime = 'middle'\n"), "risk.time must be one of"),
    "negative horizon": (_append("[risk]\nhorizons_years = [-1]\n"), "risk.horizons_years"),
    "text horizon": (_append("[risk]\nhorizons_years = ['5']\n"), "risk.horizons_years"),
    "horizon of 1000 years": (_append("[risk]\nhorizons_years = [1000]\n"), "risk.horizons_years"),
    "unknown compared policy": (_append("[risk]\ncompare = ['none', 'x']\n"), "risk.compare"),
    "unknown risk key": (_append("[risk]\nreference_tests = ['igra']\n"),
                         "risk.reference_tests is not a known key"),
    "sensitivity above 1": (_append("[risk]\npolicy = 'x'\n[risk.policies.x]\nscreens = [ { stage"
                                    " = 'arrival', test = 'igra', sensitivity = 1.5 } ]\n"),
                            "risk.policies.x.screens[0].sensitivity must be a number in [0, 1]"),
    "negative specificity": (_append("[risk]\npolicy = 'x'\n[risk.policies.x]\nscreens = [ { "
                                     "stage = 'arrival', test = 'igra', sensitivity = 0.8, "
                                     "specificity = -0.1 } ]\n"), "specificity must be"),
    "unknown stage": (_append("[risk]\npolicy = 'x'\n[risk.policies.x]\nscreens = [ { stage = "
                              "'midflight', test = 'igra', sensitivity = 0.8 } ]\n"),
                      "risk.policies.x.screens[0].stage must be one of"),
    "misspelt screen key": (_append("[risk]\npolicy = 'x'\n[risk.policies.x]\nscreens = [ { "
                                    "stage = 'arrival', test = 'igra', sensitivty = 0.8 } ]\n"),
                            "sensitivty is not a known key"),
    "screen without sensitivity": (_append("[risk]\npolicy = 'x'\n[risk.policies.x]\nscreens = "
                                           "[ { stage = 'arrival', test = 'igra' } ]\n"),
                                   "sensitivity is required"),
    "a test no compartment declares": (_append("[risk]\npolicy = 'x'\n[risk.policies.x]\n"
                                               "screens = [ { stage = 'arrival', test = 'pcr',"
                                               " sensitivity = 0.8 } ]\n"),
                                       "declared by no compartment of model 'tb'"),
    "no screens": (_append("[risk]\npolicy = 'x'\n[risk.policies.x]\ndescription = 'x'\n"),
                   "risk.policies.x.screens is required"),
    "screens not an array": (_append("[risk]\npolicy = 'x'\n[risk.policies.x]\nscreens = 'cxr'\n"),
                             "risk.policies.x.screens must be an array of tables"),
    "policy not a table": (_append("[risk]\npolicies = { x = 3 }\n"), "risk.policies.x"),
    "uptake above 1": (_append(f"[risk]\npolicy = 'x'\n[risk.policies.x]\ntreatment_uptake = 1.2\n"
                               f"{IGRA}"), "treatment_uptake must be a number in [0, 1]"),
    "completion negative": (_policy("treatment_completion = -1\n"),
                            "treatment_completion must be a number in [0, 1]"),
    "efficacy as text": (_policy("treatment_efficacy = 'high'\n"),
                         "treatment_efficacy must be a number in [0, 1]"),
    "efficacy range not around the efficacy": (
        _append(f"[risk]\npolicy = 'x'\n[risk.policies.x]\ntreatment_efficacy = 0.5\n"
                f"treatment_efficacy_range = [0.6, 0.9]\n{IGRA}"),
        "treatment_efficacy_range must be [low, high] around"),
    "minimum stay not a duration": (_policy("min_stay = 'long'\n"),
                                    "risk.policies.x.min_stay must be a duration"),
    "negative incidence threshold": (_policy("min_origin_incidence = -5\n"),
                                     "min_origin_incidence must be a number >= 0"),
    "coverage above 1": (_policy("coverage = 2\n"),
                         "coverage must be a number in [0, 1]"),
    "finds an unknown measure": (_policy("finds = 'tb_everything'\n"),
                                 "risk.policies.x.finds must be an [arrivals] measure"),
    "treats an unknown measure": (_policy("treats = 'nothing'\n"),
                                  "risk.policies.x.treats must be an [arrivals] measure"),
    "a disease the model lacks": (_policy("disease = 'hiv'\n"),
                                  "risk.policies.x.disease must be a disease of model 'tb'"),
    "post-entry screens at two times": (
        _append("[risk]\npolicy = 'x'\n[risk.policies.x]\nscreens = [ { stage = 'post_entry', "
                "test = 'igra', sensitivity = 0.8, after_arrival = '1 month' }, { stage = "
                "'post_entry', test = 'tst', sensitivity = 0.7, after_arrival = '2 months' } ]\n"),
        "post-entry screens must share one after_arrival"),
    "policy for an unknown category": (_policy("applies_to = ['pilgrim']\n"),
                                       "risk.policies.x.applies_to must be traveller categories"),
    "arrival seed place unknown": (_append("[risk.arrival]\nseed_place = 'XXX'\n"), "XXX"),
    "arrival members zero": (_append("[risk.arrival]\nseed_place = 'IND'\nmembers = 0\n"),
                             "risk.arrival.members must be"),
    "uncertainty members negative": (_append("[risk.uncertainty]\nmembers = -1\n"),
                                     "risk.uncertainty.members must be"),
    "uncertainty executor unknown": (_append("[risk.uncertainty]\nexecutor = 'cloud'\n"),
                                     "risk.uncertainty.executor must be one of"),
    "uncertainty workers zero": (_append("[risk.uncertainty]\nworkers = 0\n"),
                                 "risk.uncertainty.workers must be"),
    # [focus]
    "focus on an unknown place": (_append("[focus]\ndestination = 'XXX'\n"),
                                  "focus.destination must be ids of places of the run"),
    "focus a number": (_append("[focus]\ndestination = 5\n"), "focus.destination must be"),
    "focus on a place outside the subset": (_append("[focus]\ndestination = ['FRA']\n"), "FRA"),
    "unknown focus key": (_append("[focus]\ncountry = 'GBR'\n"),
                          "focus.country is not a known key"),
    # [costs]
    "negative test cost": (_append("[costs]\ntests = { cxr = -3 }\n"),
                           "costs.tests.cxr must be a number >= 0"),
    "text test cost": (_append("[costs]\ntests = { igra = 'cheap' }\n"),
                       "costs.tests.igra must be a number >= 0"),
    "infinite test cost": (_append("[costs]\ntests = { igra = inf }\n"),
                           "costs.tests.igra must be a number >= 0"),
    "text treatment cost": (_append("[costs]\npreventive_treatment = 'cheap'\n"),
                            "costs.preventive_treatment must be a number >= 0"),
    "empty currency": (_append("[costs]\ncurrency = ''\n"), "costs.currency must be"),
    "tests not a table": (_append("[costs]\ntests = 3\n"), "costs.tests must be a table"),
    # [output], [surveillance], [ensemble], [birthplace]
    "negative memory budget": (_append("[output]\nmemory_gb = -1\n"), "output.memory_gb"),
    "a memory budget too small": (_append("[output]\nmemory_gb = 0.0000001\n"), "memory budget"),
    "observed table missing": (_append("[surveillance]\nobserved = 'nosuch.csv'\n"), "nosuch.csv"),
    "zero ensemble members": (_append("[ensemble]\nmembers = 0\n"), "ensemble.members must be"),
    "unknown section": (_append("[weather]\nrain = true\n"), "weather is not a known key"),
    "ensemble executor unknown": (_append("[ensemble]\nexecutor = 'cloud'\n"),
                                  "ensemble.executor must be one of"),
    "ensemble workers zero": (_append("[ensemble]\nworkers = 0\n"), "ensemble.workers must be"),
    "birthplace enabled as text": (_append("[birthplace]\nenabled = 'yes'\n"),
                                   "birthplace.enabled must be true or false"),
    "unknown solver": (_append("[solver]\nmethod = 'euler2'\n"), "solver.method must be one of"),
    "negative tolerance": (_append("[solver]\nrtol = -1\n"), "solver.rtol must be"),
    "unknown cluster kind": (_append("[cluster]\nkind = 'lsf'\n"), "cluster.kind must be one of"),
    "layers not an array": (_replace('layers = ["air", "migration"]', "layers = 'air'"),
                            "mobility.layers must be an array of strings"),
    "negative layer scale": (_append("[mobility.air]\nscale = -1\n"), "mobility.air.scale"),
    "a layer the run lacks in travel_via": (
        _append("[mobility.migration]\ntravel_via = ['air', 'lnd']\n"),
        "mobility.migration.travel_via must name layers of the run ['air', 'migration']; "
        "got ['lnd']"),
    "fractions not a table": (_replace("fractions = { S = 0.7, LL = 0.3 }", "fractions = 3"),
                              "initial.fractions"),
    "places source a number": (_replace('source = "world"', "source = 5"), "places.source"),
    "arrival duration not a duration": (_append("[risk.arrival]\nseed_place = 'IND'\n"
                                                "duration = 'forever'\n"),
                                        "risk.arrival.duration must be"),
    "arrival threshold zero": (_append("[risk.arrival]\nseed_place = 'IND'\nthreshold = 0\n"),
                               "risk.arrival.threshold must be"),
    "symptomatic share above 1": (_policy("share_symptomatic = 2\n"),
                                  "share_symptomatic must be a number in [0, 1]"),
    "focus name a number": (_append("[focus]\nname = 5\n"), "focus.name must be"),
    "observed a number": (_append("[surveillance]\nobserved = 5\n"), "surveillance.observed"),
    "boolean parameter": (_append("[parameters]\nbeta = true\n"),
                          "parameters.beta must be a number"),
}


def _run(config, out, capsys):
    code = main(["run", str(config), "--output-dir", str(out)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_config_is_one_line_exit_2(case, tmp_path, capsys):
    edit, expected = CASES[case]
    config = tmp_path / "bad.toml"
    config.write_text(edit(WORLD_CONFIG), encoding="utf-8")
    code, err = _run(config, tmp_path / "runs", capsys)
    lines = [line for line in err.splitlines() if line.startswith("healthmob: error:")]
    assert code == 2, err
    assert len(lines) == 1 and expected in lines[0] and str(config) in lines[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "runs").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


FILES = {
    "not UTF-8": (WORLD_CONFIG.replace('"bad"', '"b\xe9d"').encode("latin-1"), "not valid TOML"),
    "binary garbage": (bytes(range(256)) * 4, "not valid TOML"),
    "a TOML syntax error": (b"name = \n", "not valid TOML"),
    "tables nested too deep": (b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n", "not valid TOML"),
    "empty": (b"", "the config is empty"),
}


@pytest.mark.parametrize("case", sorted(FILES))
def test_a_config_that_is_not_toml_is_one_line(case, tmp_path, capsys):
    data, expected = FILES[case]
    config = tmp_path / "bad.toml"
    config.write_bytes(data)
    code, err = _run(config, tmp_path / "runs", capsys)
    lines = [line for line in err.splitlines() if line.startswith("healthmob: error:")]
    assert code == 2 and len(lines) == 1 and expected in lines[0], err
    assert "Traceback" not in err and not (tmp_path / "runs").exists()


def test_a_config_saved_with_a_byte_order_mark_is_read(tmp_path, capsys):
    """Windows editors save UTF-8 with a BOM; TOML forbids it, healthmob reads past it."""
    config = tmp_path / "bom.toml"
    config.write_bytes(b"\xef\xbb\xbf" + WORLD_CONFIG.encode())
    assert main(["validate", str(config)]) == 0, capsys.readouterr().err


def test_a_folder_given_as_the_config_is_one_line(tmp_path, capsys):
    code, err = _run(tmp_path, tmp_path / "runs", capsys)
    assert code == 2 and "a folder, not a config file" in err and "Traceback" not in err


def test_a_valid_but_unusual_config_runs(tmp_path, capsys):
    """Namibia's ISO2 code is "NA"; one place; no corridors: valid, so it runs."""
    config = tmp_path / "na.toml"
    config.write_text(WORLD_CONFIG.replace('ids = ["GBR", "IND", "PAK"]', 'ids = ["NAM"]')
                      .replace('layers = ["air", "migration"]', "layers = []")
                      .replace("60 days", "10 days").replace("1 month", "5 days"))
    code, err = _run(config, tmp_path / "runs", capsys)
    assert code == 0, err
