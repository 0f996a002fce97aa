"""A history start: the observed series (:mod:`.table`), the yearly fit of every place at
once with mobility on (:mod:`.fit`, over the monthly world chain of :mod:`.chain`), and the
run's schedule of yearly models with its projection (:mod:`.start`, the entry point
:func:`.start.history_schedule`)."""
