"""The state at day 0: an endemic start fitted to observed burden (:mod:`.fit`,
:mod:`.initial`), cached by the content hash of its inputs (:mod:`.cache`), or explicit
fractions; the ``[initial]`` section is :mod:`.config`."""
