"""``/implants``: the implants in place and their telemetry links; a physician registers or
changes a link (address and clinician key file, with a reason). The key is never shown: a
link is named by its key id (a fingerprint)."""

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.datastructures import UploadFile

from thecal.adapters.link_keys import MAX_KEY_DOCUMENT, key_fingerprint, parse_clinician_key
from thecal.api.context import AppContext, context
from thecal.clinic.errors import PermissionDenied
from thecal.clinic.model import Role, User
from thecal.units import InputError
from thecal.web.pages_common import check_write, page_user, refusal, render

router = APIRouter()


def _rows(ctx: AppContext) -> list[dict[str, Any]]:
    """Each implant with a serial still in place, its patient and its link (or None)."""
    links = {r.device_id: r for r in ctx.services.implant_links.list()}
    with ctx.uow.reader() as repo:
        patients = {p.id: p for p in repo.list_patients()}
        devices = [d for d in repo.devices_in_place() if d.serial]
    return [{"device": d, "patient": patients.get(d.patient_id), "link": links.get(d.id)}
            for d in sorted(devices, key=lambda d: d.serial)]  # fmt: skip


def _page(request: Request, ctx: AppContext, user: User, status: int = 200,
          **values: Any) -> Response:  # fmt: skip
    values = {"error": None, "saved": None, "form": {}, **values}
    return render(request, ctx, "implant_links.html", status, user=user, rows=_rows(ctx),
                  may_edit=user.role is Role.PHYSICIAN, **values)  # fmt: skip


@router.get("/implants", response_class=HTMLResponse)
def implants_page(request: Request, saved: str = "", user: User = Depends(page_user),
                  ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    return _page(request, ctx, user, saved=saved or None)


@router.post("/implants/link", response_class=HTMLResponse)
async def link_post(request: Request, user: User = Depends(page_user),
                    ctx: AppContext = Depends(context)) -> Response:  # fmt: skip
    raw = await request.form()
    text = {k: v for k, v in raw.items() if isinstance(v, str)}
    check_write(request, ctx, user, text.get("csrf", ""), "register implant links")
    form = {k: text.get(k, "").strip() for k in ("serial", "address", "reason")}
    upload = raw.get("key_file")
    try:
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise InputError("implant_link.key_file", "is required", "the clinician key file")
        content = await upload.read(MAX_KEY_DOCUMENT + 1)
        key = parse_clinician_key(content.decode("utf-8", "replace"))
        record = ctx.services.implant_links.register(
            actor=user, serial=form["serial"], address=form["address"], key=key.key,
            key_id=key_fingerprint(key.key), key_serial=key.serial,
            reason=form["reason"])  # fmt: skip
    except PermissionDenied as exc:
        return _page(request, ctx, user, 403, error=refusal(exc), form=form)
    except InputError as exc:
        return _page(request, ctx, user, 422, error=str(exc), form=form)
    return RedirectResponse(f"/implants?saved={record.serial}", 303)
