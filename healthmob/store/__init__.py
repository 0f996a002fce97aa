"""healthmob.store."""
