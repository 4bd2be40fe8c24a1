"""The stimulator's alarms: the pump's alarm engine (priorities, repeats, acknowledgement,
clearing only when acknowledged and resolved; :mod:`thecal.implant.alarms`) with repeat
intervals entered directly, since a stimulator has no pump catalog entry. How often a patient
remote repeats an alarm is not public for any IPG: both intervals are required inputs.
"""

from thecal.devices.alarms import AlarmCondition, Tone
from thecal.implant.alarms import AlarmEngine, LogFn
from thecal.implant.clock import EventQueue

STIMULATOR_ALARMS = (
    AlarmCondition.ELECTIVE_REPLACEMENT,
    AlarmCondition.END_OF_SERVICE,
    AlarmCondition.OPEN_CIRCUIT,
    AlarmCondition.SHORT_CIRCUIT,
    AlarmCondition.RECHARGE_NEEDED,
    AlarmCondition.AMPLITUDE_LIMITED,
)
"""The conditions a virtual IPG raises (one test each in tests/unit/implant/stimulator)."""


class StimulatorAlarms(AlarmEngine):
    """:class:`AlarmEngine` without a pump catalog entry: repeat intervals in hours, no tones
    (an IPG's patient remote tones are not public)."""

    def __init__(
        self, critical_repeat_h: float, noncritical_repeat_h: float, queue: EventQueue, log: LogFn
    ) -> None:
        # The base __init__ reads a pump catalog entry; the state it sets up is set here.
        self.critical_repeat_h = critical_repeat_h
        self.noncritical_repeat_h = noncritical_repeat_h
        self.tones: dict[bool, Tone | None] = {True: None, False: None}
        self._queue = queue
        self._log = log
        self._active = {}
        self.now = 0.0
