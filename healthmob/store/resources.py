"""Locate the data that ships with healthmob (``models/``, ``geo/``, ``configs/``) and the
user's cache folder.

In a checkout the shipped folders are top-level folders beside the package. A wheel (``pip
install .``) carries them inside the package as ``healthmob/_data/<name>`` so that cluster
workers and users outside the checkout find them too. Nothing ever writes into them at run
time; what healthmob caches goes to :func:`cache_dir`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import platformdirs

DATA_SOURCES = ("Natural Earth; OpenFlights (ODbL); WHO Global TB Programme; UNAIDS via World "
                "Bank and Our World in Data; UN DESA International Migrant Stock 2024; UN "
                "Tourism key tourism statistics; Border Infrastructure Data (Guelzau & Mau "
                "2021); Passport Index; GeoDataSource country borders (CC BY-SA 4.0)")
"""One line crediting the sources of the embedded data (``geo/SOURCES.md`` has each)."""
CACHE_ENV = "HEALTHMOB_CACHE_DIR"
"""Environment variable that overrides the cache folder (tests and batch jobs set it)."""

_PACKAGE = Path(__file__).resolve().parents[1]  # the healthmob package folder


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``"models"``, ``"geo"`` or ``"configs"``).

    The installed copy (``healthmob/_data/<name>``) wins; a checkout falls back to the
    top-level folder of the same name.
    """
    installed = _PACKAGE / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name


def cache_dir() -> Path:
    """The user's healthmob cache folder (created on first write, by the writer).

    ``$HEALTHMOB_CACHE_DIR`` when set, else the platform's user cache folder
    (``platformdirs.user_cache_dir("healthmob")``, e.g. ``~/.cache/healthmob`` on Linux).
    """
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(platformdirs.user_cache_dir("healthmob"))


def resolve_named_file(value: str | Path, folder: str, base: Path | None = None) -> Path:
    """Resolve a file given as a path or as the name of a shipped file.

    Parameters
    ----------
    value : str or Path
        A path (absolute, or relative to ``base`` then to the working directory), or a bare
        name such as ``"tb"`` that names ``<folder>/tb.toml`` in the shipped data.
    folder : str
        ``"models"``, ``"geo"`` or ``"configs"``.
    base : Path, optional
        Directory that relative paths are resolved against first (the config's folder).

    Returns
    -------
    Path
        The first candidate that exists, or the first candidate when none does (so that the
        caller's error names a real location).
    """
    value = Path(value)
    candidates = []
    if value.is_absolute():
        candidates.append(value)
    else:
        if base is not None:
            candidates.append(base / value)
        candidates.append(Path.cwd() / value)
        if value.parent == Path("."):   # only a bare name looks up the shipped files
            shipped = data_dir(folder)
            candidates.append(shipped / value.name)
            if not value.suffix:
                candidates.append(shipped / f"{value.name}.toml")
    for path in candidates:
        if path.is_file():
            return path.resolve()
    return candidates[0]


def read_toml(value: str | Path, folder: str, error: type[Exception],
              base: Path | None = None, what: str = "file") -> tuple[Path, dict, bytes]:
    """Locate (as :func:`resolve_named_file`) and parse a TOML file.

    Returns
    -------
    (Path, dict, bytes)
        The resolved path, the parsed table and the raw bytes (for hashing).

    Raises
    ------
    error
        ``"<path>: <what> not found"`` or ``"<path>: not valid TOML: <reason>"``.
    """
    path = resolve_named_file(value, folder, base)
    if path.is_dir():
        raise error(f"{path}: a folder, not a {what}; give the path of a .toml file")
    if not path.is_file():
        raise error(f"{path if path.is_absolute() else value}: {what} not found")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        return path, tomllib.loads(raw.decode("utf-8-sig")), raw  # a BOM (Windows editors)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(f"{path}: not valid TOML: {exc}") from None
    except RecursionError:
        raise error(f"{path}: not valid TOML: tables or arrays nested too deep") from None
