"""``thecal programmer interrogate|program|refill|bolus|priming-bolus|ack|alarm-test|clock|mri``,
``thecal programmer scs ...`` (a stimulator) and ``thecal ptm bolus|status``: talk to an
implant served on 127.0.0.1 (``thecal implant serve``). See ``docs/programmer.md``. Register with::

    app.add_typer(programmer.programmer_app, name="programmer")
    app.add_typer(programmer.ptm_app, name="ptm")

The commands live by concern: :mod:`thecal.cli.programmer_link` (connection options and
helpers), :mod:`thecal.cli.programmer_program` (interrogate, program),
:mod:`thecal.cli.programmer_delivery` (refill, bolus, priming bolus),
:mod:`thecal.cli.programmer_device` (ack, alarm test, clock, MRI) and :mod:`thecal.cli.ptm`
(patient controller). This module builds the two Typer apps and registers them in order.
"""

import typer

from thecal.cli.programmer_delivery import bolus_cmd, priming_bolus_cmd, refill_cmd
from thecal.cli.programmer_device import ack_cmd, alarm_test_cmd, clock_cmd, mri_cmd
from thecal.cli.programmer_link import ACK, EXIT_REFUSED, KEY, NAIVE, PORT, REASON
from thecal.cli.programmer_program import interrogate_cmd, program_cmd
from thecal.cli.programmer_scs import scs_app
from thecal.cli.ptm import ptm_bolus_cmd, ptm_status_cmd

__all__ = [
    "ACK",
    "EXIT_REFUSED",
    "KEY",
    "NAIVE",
    "PORT",
    "REASON",
    "ack_cmd",
    "alarm_test_cmd",
    "bolus_cmd",
    "clock_cmd",
    "interrogate_cmd",
    "mri_cmd",
    "priming_bolus_cmd",
    "program_cmd",
    "programmer_app",
    "ptm_app",
    "ptm_bolus_cmd",
    "ptm_status_cmd",
    "refill_cmd",
    "scs_app",
]

programmer_app = typer.Typer(help="Clinician programmer (telemetry link).", no_args_is_help=True)
ptm_app = typer.Typer(help="Patient controller (telemetry link).", no_args_is_help=True)

# Registered in this order: it is the order ``thecal programmer --help`` lists them in.
programmer_app.command("interrogate")(interrogate_cmd)
programmer_app.command("program")(program_cmd)
programmer_app.command("refill")(refill_cmd)
programmer_app.command("bolus")(bolus_cmd)
programmer_app.command("ack")(ack_cmd)
programmer_app.command("priming-bolus")(priming_bolus_cmd)
programmer_app.command("alarm-test")(alarm_test_cmd)
programmer_app.command("clock")(clock_cmd)
programmer_app.command("mri")(mri_cmd)

ptm_app.command("bolus")(ptm_bolus_cmd)
ptm_app.command("status")(ptm_status_cmd)


# The stimulator's commands: `thecal programmer scs ...`.
programmer_app.add_typer(scs_app, name="scs")
