"""healthmob.network."""
