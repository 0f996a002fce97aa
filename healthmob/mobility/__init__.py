"""healthmob.mobility."""
