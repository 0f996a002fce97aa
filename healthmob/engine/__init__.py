"""The engines, numpy and scipy only: deterministic (:mod:`.ode`) and stochastic
(:mod:`.binomial`), coupled by mobility (:mod:`.coupling`); what they return and the output
times (:mod:`.trajectory`), the one seeding rule (:mod:`.seeds`), and the ``[time]`` and
``[solver]`` sections (:mod:`.config`)."""
