from pathlib import Path

import pytest

from thecal.adapters.data_files import load_library
from thecal.therapy.drugs import Bound
from thecal.units import Q_, InputError

INST = """
[[drugs]]
name = "hydromorphone"
[[drugs.limits]]
bound = "daily_dose_max"
value = "15 mg/d"
level = "hard"
source = "Clinic ITDD protocol"
"""


def test_config_file_names_the_institution_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "inst.toml").write_text(INST)
    (tmp_path / "config.toml").write_text('library = ["inst.toml"]\n')
    monkeypatch.setenv("THECAL_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("THECAL_LIBRARY", raising=False)
    lib = load_library()
    assert lib.layers[-1] == str(tmp_path / "inst.toml")
    hard = [
        lim
        for lim in lib.get("hydromorphone").limits_for(Bound.DAILY_DOSE_MAX, {})
        if lim.source == "Clinic ITDD protocol"
    ]
    assert [lim.value for lim in hard] == [Q_("15 mg/d")]


def test_no_config_means_only_the_shipped_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("THECAL_CONFIG", raising=False)
    monkeypatch.delenv("THECAL_LIBRARY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert load_library().layers == ("thecal/data/drugs.toml",)


def test_bad_config_names_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text('libary = ["x.toml"]\n')
    monkeypatch.setenv("THECAL_CONFIG", str(tmp_path / "config.toml"))
    with pytest.raises(InputError, match="libary"):
        load_library()
