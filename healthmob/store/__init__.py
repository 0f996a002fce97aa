"""Files: run directories and their manifest (:mod:`.rundir`), atomic writes (:mod:`.atomic`),
the one NetCDF writer (:mod:`.netcdf`), and where shipped data and the user cache are
(:mod:`.resources`). Imports no other stage."""
