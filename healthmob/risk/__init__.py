"""Risk: infected, undetectable and missed arrivals per corridor (:mod:`.kernel`, numpy
only), labelled as ``risk.nc`` (:mod:`.assess`); screening policies and tests
(:mod:`.screening`); arrival times of a new strain (:mod:`.arrival`); the ``[risk]`` section
is :mod:`.config`."""
