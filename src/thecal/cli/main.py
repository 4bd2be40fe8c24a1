"""The ``thecal`` command."""

import typer
from rich.console import Console

from thecal import NOT_A_MEDICAL_DEVICE

app = typer.Typer(
    help="Thecal: intrathecal pump therapy calculations. " + NOT_A_MEDICAL_DEVICE,
    no_args_is_help=True,
)
console = Console()


@app.command()
def demo() -> None:
    """Print the seed cases' calculations."""
    console.print(f"[bold]Thecal[/bold] — {NOT_A_MEDICAL_DEVICE}")


if __name__ == "__main__":
    app()
