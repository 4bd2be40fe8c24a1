"""The spinal cord stimulator's operations (pure, strict): stage, read back and commit a group
program, impedance test, amplitude, group selection, stimulation on/off and MRI mode.

Joined into the one union discriminated on ``op`` by :mod:`.operations`; the implant refuses an
operation of the other implant family with ``wrong-family`` (:mod:`.implant_server`).
"""

from typing import Any, Literal

from pydantic import BaseModel

from thecal.programmer.envelope import STRICT, Op
from thecal.programmer.operation_base import (
    Current,
    Name,
    NoArgs,
    Operation,
    ProgramCommitArgs,
    _Acting,
)


class GroupStageArgs(BaseModel):
    """A stimulator group: its name and program JSON (decoded by the handler,
    :func:`thecal.programmer.wire_stimulator.stim_program_from_json`)."""

    model_config = STRICT

    group: Name
    program: dict[str, Any]


class SetAmplitudeArgs(BaseModel):
    """One area of the running group and its new amplitude (a current: the IPGs served are
    current-controlled)."""

    model_config = STRICT

    area: Name
    amplitude: Current


class SelectGroupArgs(BaseModel):
    model_config = STRICT

    group: Name


class SwitchArgs(BaseModel):
    """``on``: true to turn stimulation (or MRI mode) on, false to turn it off."""

    model_config = STRICT

    on: bool


class GroupStageOp(_Acting):
    op: Literal[Op.GROUP_STAGE]
    args: GroupStageArgs


class GroupReadStagedOp(Operation):
    op: Literal[Op.GROUP_READ_STAGED]
    args: NoArgs


class GroupCommitOp(_Acting):
    op: Literal[Op.GROUP_COMMIT]
    args: ProgramCommitArgs


class ImpedanceTestOp(_Acting):
    op: Literal[Op.IMPEDANCE_TEST]
    args: NoArgs


class SetAmplitudeOp(_Acting):
    op: Literal[Op.SET_AMPLITUDE]
    args: SetAmplitudeArgs


class SelectGroupOp(_Acting):
    op: Literal[Op.SELECT_GROUP]
    args: SelectGroupArgs


class StimulationOp(_Acting):
    op: Literal[Op.STIMULATION]
    args: SwitchArgs


class MriModeOp(_Acting):
    op: Literal[Op.MRI_MODE]
    args: SwitchArgs


STIMULATOR_OPERATIONS: tuple[type[Operation], ...] = (
    GroupStageOp,
    GroupReadStagedOp,
    GroupCommitOp,
    ImpedanceTestOp,
    SetAmplitudeOp,
    SelectGroupOp,
    StimulationOp,
    MriModeOp,
)

__all__ = [
    "STIMULATOR_OPERATIONS",
    "GroupCommitOp",
    "GroupReadStagedOp",
    "GroupStageArgs",
    "GroupStageOp",
    "ImpedanceTestOp",
    "MriModeOp",
    "SelectGroupArgs",
    "SelectGroupOp",
    "SetAmplitudeArgs",
    "SetAmplitudeOp",
    "StimulationOp",
    "SwitchArgs",
]
