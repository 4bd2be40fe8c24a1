"""What every operation model shares: the wire quantity, the empty argument set and the
operation base classes (pure; :mod:`.operations` joins the operations into one union)."""

from typing import Annotated, Literal

import pint
from pydantic import AfterValidator, BaseModel, Field, field_validator

from thecal.programmer.envelope import STRICT, CommandId, DeviceTime, Op, canonical
from thecal.units import Q_, Dimension, InputError, check_dimension, unit_from_ucum

# --- arguments ---------------------------------------------------------------------------------


class WireQuantity(BaseModel):
    """``{"value": finite number, "unit": "UCUM"}``; the unit comes from the one UCUM table
    (:func:`thecal.units.unit_from_ucum`) and is never evaluated."""

    model_config = STRICT

    value: float = Field(allow_inf_nan=False)
    unit: str = Field(max_length=32)

    @field_validator("unit")
    @classmethod
    def _known(cls, unit: str) -> str:
        if unit_from_ucum(unit) is None:
            raise ValueError(f"unknown UCUM unit {unit!r}")
        return unit  # the sender's spelling, so a re-encoding is byte-identical

    @property
    def quantity(self) -> pint.Quantity:
        """The value as a pint quantity in the sent unit."""
        unit = unit_from_ucum(self.unit)
        assert unit is not None  # checked by the validator
        return Q_(self.value, unit)


def _of(dimension: Dimension) -> AfterValidator:
    def check(q: WireQuantity) -> WireQuantity:
        try:
            check_dimension(q.quantity, "", dimension)
        except InputError as exc:  # pydantic names the field
            raise ValueError(exc.message) from None
        return q

    return AfterValidator(check)


Volume = Annotated[WireQuantity, _of(Dimension.VOLUME)]
Duration = Annotated[WireQuantity, _of(Dimension.TIME)]
Current = Annotated[WireQuantity, _of(Dimension.CURRENT)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
"""A group's or an area's name: 1 to 64 characters."""


class NoArgs(BaseModel):
    """``{}``: the operation takes no argument."""

    model_config = STRICT


class ProgramCommitArgs(BaseModel):
    """The digest of the staged program the programmer read back."""

    model_config = STRICT

    digest: str = Field(max_length=128)


# --- operations ------------------------------------------------------------------------------


class Operation(BaseModel):
    """A command as the implant understood it; one subclass per :class:`Op`."""

    model_config = STRICT

    v: Literal[1]
    op: Op
    command_id: CommandId = Field(alias="id")
    issued_at: DeviceTime | None
    args: BaseModel

    def encode(self) -> bytes:
        """Canonical UTF-8 JSON: byte-identical to the canonical body it was decoded from
        (an argument left out stays out: its default is not written)."""
        return canonical(self.model_dump(mode="json", by_alias=True, exclude_unset=True))


class _Acting(Operation):
    """An operation that acts: ``issued_at`` is required (the staleness bound needs it)."""

    issued_at: DeviceTime


__all__ = [
    "Current",
    "Duration",
    "Name",
    "NoArgs",
    "Operation",
    "ProgramCommitArgs",
    "Volume",
    "WireQuantity",
]
