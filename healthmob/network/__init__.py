"""Contact networks, the only home of epydemic: network configs (:mod:`.config`), generators
(:mod:`.generators`), the epydemic process of a spec (:mod:`.process`), mean-field fits
(:mod:`.fit`), ensembles and calibration (:mod:`.run`), ``network.nc`` (:mod:`.files`)."""
