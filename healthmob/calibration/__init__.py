"""healthmob.calibration."""
