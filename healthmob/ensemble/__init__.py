"""healthmob.ensemble."""
