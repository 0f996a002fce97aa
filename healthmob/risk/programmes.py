"""The built-in screening programmes, as they are run (docs/risk.md cites every value).

* ``pre_entry_cxr``: the UK's pre-entry chest X-ray with sputum culture, for visa
  applicants staying more than six months from countries with at least 40 TB cases per
  100,000 (Aldridge et al. 2016 Lancet Infect Dis 16:962; mandatory, so coverage 1).
* ``post_entry_ltbi_150`` / ``post_entry_ltbi_250``: NHS England's latent TB programme, an
  IGRA for new entrants from countries with at least 150 (or 250) per 100,000, then
  preventive treatment: 64% of IGRA-positive people start it and 69% of them complete it
  (NHS England national LTBI programme, 2015 to March 2019); a 3-4 month rifampicin and
  isoniazid regimen prevents about 47% of active TB (odds ratio 0.53 against placebo,
  Zenner et al. 2017 Ann Intern Med 167:248; 0.22-0.64 from its credible interval 0.36-0.78).
* ``hiv_test_entry``: a 4th-generation HIV antigen/antibody test of new entrants on
  arrival; its yield counts people not on ART (new diagnoses in the model).
* ``symptoms_arrival`` / ``symptoms_both``: symptom screening of every traveller for TB.
"""

from __future__ import annotations

from .screening import SYMPTOMS, Policy, Screen

MIGRANTS = ("settlement", "labour", "study", "refugee")
"""Long-stay migrants: who pre-entry and post-entry programmes screen (visitors are not)."""

CXR = Screen("departure", "cxr", 0.87, 0.99)
IGRA_POST_ENTRY = Screen("post_entry", "igra", 0.80, 0.97, "3 months")
HIV_TEST = Screen("arrival", "hiv_ag_ab", 0.999, 0.998)
LTBI_TREATMENT = {"treats": "tb_latent", "treatment_uptake": 0.64,
                  "treatment_completion": 0.69, "treatment_efficacy": 0.47,
                  "treatment_efficacy_range": (0.22, 0.64)}


def _ltbi(threshold: int) -> Policy:
    return Policy(f"post-entry IGRA for latent TB, then preventive treatment, long-stay "
                  f"migrants from origins >= {threshold} per 100,000", (IGRA_POST_ENTRY,),
                  "tb", MIGRANTS, "6 months", float(threshold), 1.0, "tb_latent",
                  **LTBI_TREATMENT, name=f"post_entry_ltbi_{threshold}")


BUILT_IN = {policy.name: policy for policy in (
    Policy("no screening", (), name="none"),
    Policy("pre-entry chest X-ray with sputum culture for active TB, long-stay migrants from "
           "origins >= 40 per 100,000", (CXR,), "tb", MIGRANTS, "6 months", 40.0, 1.0,
           "tb_active", name="pre_entry_cxr"),
    _ltbi(150),
    _ltbi(250),
    Policy("4th-generation HIV Ag/Ab test on arrival, long-stay migrants", (HIV_TEST,), "hiv",
           MIGRANTS, "6 months", 0.0, 1.0, "hiv_not_on_art", name="hiv_test_entry"),
    Policy("symptom screening of every traveller at arrival, for TB",
           (Screen("arrival", SYMPTOMS, 0.7, 1.0),), "tb", finds="tb_active",
           name="symptoms_arrival"),
    Policy("symptom screening of every traveller at departure and at arrival, for TB",
           (Screen("departure", SYMPTOMS, 0.7, 1.0), Screen("arrival", SYMPTOMS, 0.7, 1.0)),
           "tb", finds="tb_active", name="symptoms_both"),
)}
"""The built-in policies by name; a config may define its own (``[risk.policies.<name>]``)."""
