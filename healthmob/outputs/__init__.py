"""What people read, rebuilt from a run's files (never from the engines): tables
(:mod:`.tables`), geometry (:mod:`.shapes`), the look of the maps (:mod:`.style`),
``risk.gpkg``/``top_corridors.csv``/``risk_map.png`` (:mod:`.maps`, :mod:`.figure`) and
``report.html`` (:mod:`.report`, :mod:`.svgmap`, :mod:`.assets`); :mod:`.publish` writes
them all."""
