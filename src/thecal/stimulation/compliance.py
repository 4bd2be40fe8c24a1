"""Which current an area really delivers: the programmed current, unless driving it through the
measured impedance would need more than the IPG's available voltage; in voltage mode V / Z.

Sources: a voltage-mode output delivers I = V / Z, so a measured impedance is needed before the
delivered current is known (Butson & McIntyre 2005, https://pmc.ncbi.nlm.nih.gov/articles/
PMC3653320); the open OpenNerve IPG firmware caps the amplitude at available voltage /
measured impedance after each impedance test (CARSSCenter/OpenNerve-Implantable-Pulse-
Generator, app_mode_impedance_test.c).
"""

import pint

from thecal.stimulation.program import Area, Mode
from thecal.therapy.compare import above

COMPLIANCE_SOURCE = (
    "Delivered current is at most available voltage / impedance (Butson & McIntyre 2005, "
    "https://pmc.ncbi.nlm.nih.gov/articles/PMC3653320; OpenNerve IPG firmware "
    "app_mode_impedance_test.c, CARSSCenter/OpenNerve-Implantable-Pulse-Generator)"
)


def programmed_current(area: Area, amplitude: pint.Quantity) -> pint.Quantity:
    """The current ``amplitude`` asks for: itself in current mode, V / Z in voltage mode
    (``area.impedance`` must be known then: the program file requires it)."""
    if area.mode is Mode.CURRENT:
        return amplitude.to("mA")
    if area.impedance is None:
        raise ValueError("a voltage-mode area needs its impedance")  # the file refuses it first
    return (amplitude / area.impedance).to("mA")


def required_voltage(current: pint.Quantity, impedance: pint.Quantity) -> pint.Quantity:
    """V = I x Z: what the output stage must drive (V)."""
    return (current * impedance).to("V")


def delivered_current(
    area: Area, amplitude: pint.Quantity, available_voltage: pint.Quantity | None
) -> tuple[pint.Quantity, bool]:
    """The current the IPG can deliver for ``amplitude`` and whether it is limited by the
    available voltage. Unknown impedance or available voltage: the programmed current, not
    limited (a finding says the check was not made)."""
    wanted = programmed_current(area, amplitude)
    if area.impedance is None or available_voltage is None:
        return wanted, False
    if above(required_voltage(wanted, area.impedance), available_voltage):
        return (available_voltage / area.impedance).to("mA"), True
    return wanted, False


def amplitude_mode_unit(mode: Mode) -> str:
    return "mA" if mode is Mode.CURRENT else "V"
