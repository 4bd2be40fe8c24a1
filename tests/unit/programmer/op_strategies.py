"""Hypothesis strategies for commands whose args are valid for their operation."""

from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from thecal.devices.alarms import AlarmCondition
from thecal.programmer.commands import MAX_COMMAND_ID_LEN, READ_ONLY_OPS, Command, Op

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
TIMES = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1))
IDS = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    min_size=1,
    max_size=MAX_COMMAND_ID_LEN,
)
# Floats only: the canonical form writes every quantity's value as a float.
_VALUES = st.floats(allow_nan=False, allow_infinity=False)


def _quantity(units: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"value": _VALUES, "unit": st.sampled_from(units)})


_VOLUME = _quantity(["mL", "uL"])
_CURRENT = _quantity(["mA", "uA"])
_NAMES = st.text(min_size=1, max_size=64)
_SWITCH = st.fixed_dictionaries({"on": st.booleans()})
_TIME = _quantity(["h", "min", "s", "d"])
_BOLUS = st.fixed_dictionaries({"volume": _VOLUME, "duration": _TIME})
_NONE: st.SearchStrategy[dict[str, Any]] = st.just({})

ARGS: dict[Op, st.SearchStrategy[dict[str, Any]]] = {
    Op.STATUS: _NONE,
    Op.INTERROGATE: st.fixed_dictionaries(
        {}, optional={"since_seq": st.integers(0, 2**53), "status": st.booleans()}
    ),
    Op.PROGRAM_STAGE: st.fixed_dictionaries(
        {"program": st.dictionaries(st.text(max_size=8), JSON, max_size=4)}
    ),
    Op.PROGRAM_READ_STAGED: _NONE,
    Op.PROGRAM_COMMIT: st.fixed_dictionaries({"digest": st.text(max_size=64)}),
    Op.REFILL: st.fixed_dictionaries(
        {"volume": _VOLUME}, optional={"simulate_needle": st.booleans()}
    ),
    Op.CLINICIAN_BOLUS: _BOLUS,
    Op.PRIMING_BOLUS: _BOLUS,
    Op.BRIDGE_BOLUS: _BOLUS,
    Op.ACKNOWLEDGE_ALARM: st.fixed_dictionaries(
        {}, optional={"condition": st.none() | st.sampled_from([int(c) for c in AlarmCondition])}
    ),
    Op.ALARM_TEST: _NONE,
    Op.CLOCK_READ: _NONE,
    Op.CLOCK_SET: st.fixed_dictionaries({"device_time": TIMES.map(datetime.isoformat)}),
    Op.POST_MRI_RESUME: _NONE,
    Op.PATIENT_BOLUS: _NONE,
    Op.REPLY_PAGE: st.fixed_dictionaries(
        {"handle": st.integers(-(2**53), 2**53), "page": st.integers(-(2**53), 2**53)}
    ),
    Op.GROUP_STAGE: st.fixed_dictionaries(
        {"group": _NAMES, "program": st.dictionaries(st.text(max_size=8), JSON, max_size=4)}
    ),
    Op.GROUP_READ_STAGED: _NONE,
    Op.GROUP_COMMIT: st.fixed_dictionaries({"digest": st.text(max_size=64)}),
    Op.IMPEDANCE_TEST: _NONE,
    Op.SET_AMPLITUDE: st.fixed_dictionaries({"area": _NAMES, "amplitude": _CURRENT}),
    Op.SELECT_GROUP: st.fixed_dictionaries({"group": _NAMES}),
    Op.STIMULATION: _SWITCH,
    Op.MRI_MODE: _SWITCH,
}
"""Valid arguments of every operation (a test checks every :class:`Op` has an entry)."""


@st.composite
def commands(draw: st.DrawFn, ops: list[Op] | None = None) -> Command:
    """A valid command: its args are what its operation accepts."""
    op = draw(st.sampled_from(ops or list(Op)))
    # issued_at is required for every operation that acts; read-only ones may leave it out.
    issued = draw(st.none() | TIMES) if op in READ_ONLY_OPS else draw(TIMES)
    return Command(op, draw(IDS), issued, draw(ARGS[op]))
