"""Drugs and their limits as data: what each limit bounds, its value, level and source."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import pint

from thecal.therapy.findings import Level
from thecal.units import Dimension


class DrugClass(StrEnum):
    OPIOID = "opioid"
    LOCAL_ANAESTHETIC = "local anaesthetic"
    ALPHA2_AGONIST = "alpha-2 agonist"
    N_TYPE_CALCIUM_CHANNEL_BLOCKER = "N-type calcium channel blocker"
    GABA_B_AGONIST = "GABA-B agonist"


class Bound(StrEnum):
    """What a limit bounds, with the dimension its value must have."""

    CONCENTRATION_MAX = "concentration_max"
    DAILY_DOSE_MAX = "daily_dose_max"
    START_DOSE_MAX = "start_dose_max"
    TITRATION_STEP_MAX = "titration_step_max"
    TITRATION_PERCENT_MAX = "titration_percent_max"
    INCREASE_INTERVAL_MIN = "increase_interval_min"
    INCREASES_PER_WEEK_MAX = "increases_per_week_max"
    BOLUS_DOSE_MAX = "bolus_dose_max"
    BOLUSES_PER_DAY_MAX = "boluses_per_day_max"
    REFILL_INTERVAL_MAX = "refill_interval_max"

    @property
    def dimension(self) -> Dimension:
        return _BOUND_DIMENSION[self]


_BOUND_DIMENSION: dict[Bound, Dimension] = {
    Bound.CONCENTRATION_MAX: Dimension.CONCENTRATION,
    Bound.DAILY_DOSE_MAX: Dimension.DOSE_RATE,
    Bound.START_DOSE_MAX: Dimension.DOSE_RATE,
    Bound.TITRATION_STEP_MAX: Dimension.DOSE_RATE,
    Bound.TITRATION_PERCENT_MAX: Dimension.DIMENSIONLESS,
    Bound.INCREASE_INTERVAL_MIN: Dimension.TIME,
    Bound.INCREASES_PER_WEEK_MAX: Dimension.DIMENSIONLESS,
    Bound.BOLUS_DOSE_MAX: Dimension.MASS,
    Bound.BOLUSES_PER_DAY_MAX: Dimension.DIMENSIONLESS,
    Bound.REFILL_INTERVAL_MAX: Dimension.TIME,
}

# Conditions a limit may carry, and the values each takes. A limit applies when every condition
# it names matches the context of the check (patient and fill).
CONDITIONS: dict[str, tuple[str, ...]] = {
    "opioid_naive": ("true", "false"),
    "spasticity_origin": ("spinal", "cerebral"),
    "fill": ("first", "refill"),
    "dilution": ("diluted", "undiluted"),
    "cancer_pain": ("true", "false"),
}


class LimitKind(StrEnum):
    """``clinical``: a dosing limit from labelling or guidelines. ``entry_error``: a ceiling that
    no intended program reaches, so a value above it is a typing or unit slip (as in the
    dose-error-reduction libraries of hospital smart pumps); always hard."""

    CLINICAL = "clinical"
    ENTRY_ERROR = "entry_error"


@dataclass(frozen=True)
class Limit:
    """One bound on one drug: ``value`` (with unit), ``level``, ``source`` and when it applies."""

    bound: Bound
    value: pint.Quantity
    level: Level
    source: str
    when: tuple[tuple[str, str], ...] = ()
    note: str = ""
    kind: LimitKind = LimitKind.CLINICAL
    # The earlier (shipped) hard limit this institution limit loosens; its ``source`` then says
    # so, so that every finding it raises shows both.
    loosens: "Limit | None" = None

    @property
    def is_minimum(self) -> bool:
        return self.bound is Bound.INCREASE_INTERVAL_MIN

    def looser_than(self, other: "Limit") -> bool:
        """True when this limit lets through a value ``other`` refuses (same bound)."""
        a = float(self.value.to(other.value.units).magnitude)
        b = float(other.value.magnitude)
        return a < b if self.is_minimum else a > b

    def applies(self, context: Mapping[str, str]) -> bool:
        return all(context.get(k) == v for k, v in self.when)

    @property
    def key(self) -> tuple[Bound, tuple[tuple[str, str], ...], Level]:
        """Identity used when an institution file overrides a shipped limit."""
        return (self.bound, self.when, self.level)

    def describe_when(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.when)


@dataclass(frozen=True)
class Drug:
    name: str
    drug_class: DrugClass
    labelled_for_pump: bool
    source: str
    synonyms: tuple[str, ...] = ()
    marketed_concentrations: tuple[pint.Quantity, ...] = ()
    undiluted_concentrations: tuple[pint.Quantity, ...] = ()
    limits: tuple[Limit, ...] = ()
    withdrawal_warning: str = ""
    monitoring: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_opioid(self) -> bool:
        return self.drug_class is DrugClass.OPIOID

    def limits_for(self, bound: Bound, context: Mapping[str, str]) -> tuple[Limit, ...]:
        return tuple(lim for lim in self.limits if lim.bound is bound and lim.applies(context))

    def dilution(self, concentration: pint.Quantity) -> str:
        """'undiluted' if ``concentration`` is one of the drug's undiluted products, else
        'diluted' (only meaningful for drugs that list undiluted products)."""
        for undiluted in self.undiluted_concentrations:
            if abs((concentration - undiluted).to(undiluted.units).magnitude) <= 1e-9 * max(
                1.0, abs(undiluted.magnitude)
            ):
                return "undiluted"
        return "diluted"
