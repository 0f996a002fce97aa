"""healthmob.engine."""
