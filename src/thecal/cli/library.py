"""``thecal library check [FILE]``: validate a drug library file, reporting every error."""

from pathlib import Path
from typing import Any

import typer

from thecal.adapters.data_files import check_library_file, load_library
from thecal.cli import output as o
from thecal.therapy.library import DrugLibrary, LibraryError
from thecal.units import InputError

FILE_ARG = typer.Argument(
    None,
    help="institution library (TOML), checked layered over the shipped library; without it, "
    "the shipped library with $THECAL_LIBRARY and --library files",
    show_default=False,
)


def _check(path: Path | None, extra: list[Path]) -> tuple[DrugLibrary | None, list[InputError]]:
    if path is not None:
        return check_library_file(path)
    try:
        return load_library(extra), []
    except LibraryError as exc:
        return None, list(exc.errors)
    except InputError as exc:
        return None, [exc]


def _summary(library: DrugLibrary) -> list[dict[str, Any]]:
    return [
        {
            "name": d.name,
            "class": d.drug_class.value,
            "labelled_for_pump": d.labelled_for_pump,
            "limits": len(d.limits),
        }
        for d in library.drugs
    ]


def check_cmd(
    ctx: typer.Context,
    file: Path | None = FILE_ARG,
    json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """Validate a drug library and report EVERY error with its location (file: path.in.file).

    Exit 0 when the library is valid, 2 when it has errors."""
    st = o.state(ctx)
    library, errors = _check(file, st.library)
    if st.json or json_out:
        o.emit_json(
            {
                "ok": not errors,
                "file": str(file) if file else None,
                "errors": [
                    {"location": e.field, "message": e.message, "expected": e.expected}
                    for e in errors
                ],
                "layers": list(library.layers) if library else [],
                "drugs": _summary(library) if library else [],
            }
        )
    else:
        out = o.console()
        o.notice(out)
        if errors:
            for e in errors:
                typer.echo(f"error: {' '.join(str(e).split())}", err=True)
            out.print(f"{len(errors)} error(s) in {o.text(file or 'the drug library')}.")
        else:
            assert library is not None
            out.print(f"[green]ok[/green]: {o.text(' + '.join(library.layers))}")
            t = o.table("drug", "class", "labelled for pumps", "limits")
            for d in _summary(library):
                t.add_row(
                    o.text(d["name"]),
                    o.text(d["class"]),
                    "yes" if d["labelled_for_pump"] else "no",
                    str(d["limits"]),
                )
            out.print(t)
    if errors:
        raise typer.Exit(o.EXIT_INPUT)
