"""flask demo seed: placeholder until the seeding module lands."""
import click


@click.group(help="Demo data.")
def demo() -> None:
    pass
