"""healthmob.outputs."""
