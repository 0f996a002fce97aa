"""Surveillance: observed notifications against what the model (and migration) explains."""
