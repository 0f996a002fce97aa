"""Maintainer tool: rebuild the embedded world dataset ``geo/`` from raw public files.

Run ``healthmob build-geo --data ../shared/data`` from the repository root (it calls
:func:`.build.build` and prints :func:`.build.summary_lines`). The raw files, listed in the
data folder's ``SOURCES.md`` (Natural Earth, OpenFlights, WHO TB, World Bank, OWID/UNAIDS,
UN DESA, GeoDataSource), become compact derived files: ``places.csv``, ``countries.gpkg``,
``air.csv``, ``land.csv``, ``migration.csv`` and ``SOURCES.md``. Raw files are never copied.

Places are the 177 Natural Earth 1:110m countries; the place id is the ISO 3166-1 alpha-3
code, or Natural Earth's ``ADM0_A3`` where ``ISO_A3`` is ``-99`` (FRA, NOR, and the
non-ISO units KOS, CYN, SOL). CSV files are written so that a read with
``keep_default_na=False, na_values=[""]`` keeps Namibia's ISO2 code ``"NA"``.

Modules: :mod:`.readers` (raw files), :mod:`.places` (population centres, ``places.csv``,
``countries.gpkg``), :mod:`.layers` (air, land and migration layers, UN name matching),
:mod:`.sources` (``SOURCES.md``) and :mod:`.build` (the driver).
"""
