"""The user's or institution's configuration file.

Found at ``$THECAL_CONFIG``, else ``$XDG_CONFIG_HOME/thecal/config.toml`` (``~/.config/...``).
Today it names the institution drug library files layered over the shipped library::

    library = ["/srv/clinic/itdd-library.toml"]   # relative paths: from the config file
"""

import os
from pathlib import Path

from thecal.units import InputError

CONFIG_ENV = "THECAL_CONFIG"


def config_path() -> Path | None:
    """The configuration file in force, or None when there is none."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    default = base / "thecal" / "config.toml"
    return default if default.is_file() else None


def config_library_files() -> list[Path]:
    """Library files named by the configuration file (resolved against its folder)."""
    from thecal.adapters.data_files import read_toml

    path = config_path()
    if path is None:
        return []
    data = read_toml(path, "config")
    unknown = sorted(set(data) - {"library"})
    if unknown:
        raise InputError(f"{path}: {unknown[0]}", "unknown setting", "library = [paths]")
    files = data.get("library", [])
    if isinstance(files, str):
        files = [files]
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise InputError(f"{path}: library", "must be a list of paths", '["inst.toml"]')
    return [(path.parent / f) if not Path(f).is_absolute() else Path(f) for f in files]
