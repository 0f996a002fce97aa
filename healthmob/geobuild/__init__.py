"""healthmob.geobuild."""
