"""healthmob.disease."""
