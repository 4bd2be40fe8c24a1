"""The JSON API's program change through the implant link: the web app gives the API (which
may not import the web layer) a way to reach an implant's link, as ``app.state``."""

from collections.abc import Mapping

from thecal.api.context import AppContext
from thecal.api.routers.programs import ProgramLinks
from thecal.clinic.model import Device
from thecal.clinic.program_delivery import ProgramWriter, PumpWrite
from thecal.therapy.plan_file import PlanFile
from thecal.web.implants import ImplantLink, reachable, write_program


def program_links(ctx: AppContext, links: Mapping[str, ImplantLink]) -> ProgramLinks:
    """The writer of ``pump``'s program over its link (None: no registered link), the same
    write the program page does (:func:`~thecal.web.implants.write_program`)."""

    def writer(pump: Device, opioid_naive: bool | None) -> ProgramWriter | None:
        link = reachable(links, pump.serial)
        if link is None:
            return None

        def write(device: Device, plan: PlanFile, reasons: Mapping[str, str]) -> PumpWrite:
            return write_program(link, ctx.library, ctx.catalog, device, plan, reasons,
                                 opioid_naive)  # fmt: skip

        return write

    return writer
