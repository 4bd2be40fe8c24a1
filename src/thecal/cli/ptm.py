"""``thecal ptm bolus|status``: the patient controller, asking the implant for a patient bolus
(the implant applies its lockout and daily maximum) and showing the pump status."""

from pathlib import Path

from thecal.cli import output as o
from thecal.cli.errors import handles_errors
from thecal.cli.programmer_link import ACK, KEY, PORT, link_client, refused
from thecal.link import Role
from thecal.programmer.link_client import LinkRefused
from thecal.programmer.patient import PatientController
from thecal.units import fmt


@handles_errors
def ptm_bolus_cmd(port: int = PORT, key: Path = KEY, ack_timeout: float = ACK) -> None:
    """Ask for a patient bolus (the implant applies its lockout and daily maximum)."""
    try:
        with link_client(port, key, Role.PATIENT, ack_timeout) as client:
            outcome = PatientController(client).request_bolus()
    except LinkRefused as exc:
        raise refused(str(exc)) from None
    if not outcome.granted:
        raise refused(f"{outcome.reason}: {outcome.message}")
    o.console().print(outcome.message)


@handles_errors
def ptm_status_cmd(port: int = PORT, key: Path = KEY, ack_timeout: float = ACK) -> None:
    """Pump status for the patient."""
    with link_client(port, key, Role.PATIENT, ack_timeout) as client:
        s = PatientController(client).status()
    out = o.console()
    out.print(
        f"delivering: {'yes' if s.delivering else 'no: ' + s.delivery.value}; "
        f"reservoir {fmt(s.reservoir_estimate)}"
    )
    out.print(
        f"doses in the last 24 h: {s.boluses_last_24h}"
        + (f" of {s.max_per_day}" if s.max_per_day else "")
    )
    out.print(f"alarms: {', '.join(s.alarms) or 'none'}")
