"""History starts: fitted year by year to observed series, all places at once, mobility on."""
