"""healthmob.risk."""
