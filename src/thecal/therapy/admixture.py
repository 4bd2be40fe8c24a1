"""An admixture: one to four drugs in one reservoir. Every drug's dose follows from volume."""

from dataclasses import dataclass

import pint

from thecal.therapy.drugs import Drug
from thecal.units import Dimension, InputError, check_dimension

# Shipped default of drugs.toml [settings] max_admixture_drugs (a product choice; the source
# text is there). Plans use the library's value, so an institution may change it.
MAX_DRUGS = 4


@dataclass(frozen=True)
class Ingredient:
    drug: Drug
    concentration: pint.Quantity  # mass/volume

    @property
    def dilution(self) -> str:
        return self.drug.dilution(self.concentration)


@dataclass(frozen=True)
class Admixture:
    """The reservoir contents. Construct with :func:`make_admixture` to get checked input."""

    ingredients: tuple[Ingredient, ...]

    @property
    def drug_names(self) -> tuple[str, ...]:
        return tuple(i.drug.name for i in self.ingredients)

    @property
    def labelled_for_pump(self) -> bool:
        """Pump labelling covers one labelled drug, never a mixture (FDA 2018)."""
        return len(self.ingredients) == 1 and self.ingredients[0].drug.labelled_for_pump

    def ingredient(self, drug: str, field: str = "drug") -> Ingredient:
        wanted = drug.strip().casefold()
        for ing in self.ingredients:
            if ing.drug.name.casefold() == wanted or wanted in (
                s.casefold() for s in ing.drug.synonyms
            ):
                return ing
        raise InputError(field, f"{drug!r} is not in the admixture", " or ".join(self.drug_names))

    def dose_rates(self, flow: pint.Quantity) -> dict[str, pint.Quantity]:
        """Dose rate of every drug at ``flow`` (volume/time), in the flow's time base."""
        return {i.drug.name: (i.concentration * flow) for i in self.ingredients}

    def doses(self, volume: pint.Quantity) -> dict[str, pint.Quantity]:
        """Mass of every drug in ``volume``."""
        return {i.drug.name: (i.concentration * volume) for i in self.ingredients}

    def flow_for(self, drug: str, dose_rate: pint.Quantity, field: str = "dose") -> pint.Quantity:
        """Flow (mL/d) that delivers ``dose_rate`` of ``drug``."""
        check_dimension(dose_rate, field, Dimension.DOSE_RATE)
        return (dose_rate / self.ingredient(drug, field).concentration).to("mL/d")

    def volume_for(self, drug: str, dose: pint.Quantity, field: str = "dose") -> pint.Quantity:
        """Volume (mL) that holds ``dose`` of ``drug``."""
        check_dimension(dose, field, Dimension.MASS)
        return (dose / self.ingredient(drug, field).concentration).to("mL")


def make_admixture(
    ingredients: list[tuple[Drug, pint.Quantity]],
    field: str = "admixture",
    max_drugs: int = MAX_DRUGS,
) -> Admixture:
    """Check 1 to ``max_drugs`` distinct drugs (exactly ``max_drugs`` accepted, one more
    refused) with positive concentrations (mass/volume)."""
    if not 1 <= len(ingredients) <= max_drugs:
        raise InputError(field, f"has {len(ingredients)} drugs", f"1 to {max_drugs} drugs")
    seen: set[str] = set()
    out: list[Ingredient] = []
    for i, (drug, conc) in enumerate(ingredients):
        where = f"{field}[{i}].concentration"
        check_dimension(conc, where, Dimension.CONCENTRATION)
        if conc.magnitude <= 0:
            raise InputError(where, "must be greater than zero", "e.g. '10 mg/mL'")
        if drug.name in seen:
            raise InputError(f"{field}[{i}].drug", f"{drug.name} is listed twice", "each drug once")
        seen.add(drug.name)
        out.append(Ingredient(drug, conc))
    return Admixture(tuple(out))
