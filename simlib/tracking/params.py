"""``params/alerts.yaml``: early-warning rules and follow-up reminders."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from simlib.config import At, Money, StrictModel

__all__ = ["AlertParams", "AlertRule", "RelativeRule", "Reminders", "StreakRule", "ThresholdRule"]


class ThresholdRule(StrictModel):
    kind: Literal["threshold"]
    id: str
    metric: str
    window: Literal["week", "month", "quarter"] = "week"
    below: Annotated[float, Field(gt=0)]
    of: Literal["pace", "target"] = "pace"
    description: str = ""


class StreakRule(StrictModel):
    kind: Literal["streak"]
    id: str
    metric: str
    window: Literal["week", "month"] = "week"
    compare: Literal["team_average"] = "team_average"
    periods: int = Field(2, ge=1, le=52)
    description: str = ""


class RelativeRule(StrictModel):
    kind: Literal["relative"]
    id: str
    metric: str
    window: Literal["week", "month", "quarter"] = "month"
    below_team_by: Annotated[float, Field(gt=0, lt=1)]
    description: str = ""


AlertRule = Annotated[ThresholdRule | StreakRule | RelativeRule, Field(discriminator="kind")]


class Reminders(StrictModel):
    high_value_lead: Money = 500_000
    followup_overdue_days: int = Field(0, ge=0)
    renewal_window_days: int = Field(60, ge=1)
    followup_due_within_days: int = Field(
        0, ge=0, le=60, description="also remind of follow-ups falling due within this many days"
    )


class AlertParams(StrictModel):
    """``params/alerts.yaml``: early-warning rules and reminders."""

    rules: tuple[AlertRule, ...]
    reminders: Reminders = Reminders()
    pace_to_date: Literal["window", "month", "quarter", "year"] = Field(
        "quarter",
        description="threshold rules on pace compare results from the start of this "
        "period to the check day with the pace expected by then; 'window' uses the rule's window "
        "alone (one week's revenue against one week's share of target)",
    )
    rate_lookback_weeks: int = Field(
        4,
        ge=1,
        le=26,
        description=(
            "weekly rules on a rate (lead conversion, win rate) measure it "
            "over the trailing N working weeks, "
            "so a rep with three leads a week is not judged on three"
        ),
    )
    min_sample: int = Field(
        5,
        ge=1,
        description="a rate with a smaller denominator is not judged (no alert, no streak break)",
    )
    week_min_working_days: int = Field(
        1,
        ge=1,
        le=7,
        description="a calendar week with fewer working days (a whole-week holiday) "
        "is folded into the next week: it neither breaks nor extends a streak",
    )
    diagnosis_weeks: int = Field(
        8,
        ge=1,
        le=52,
        description="working weeks looked back on to classify an alert as a "
        "capability or a resource gap",
    )
    gap_margin: float = Field(
        0.25,
        gt=0,
        lt=1,
        description="how far below the team (as a fraction) a signal must be to "
        "count as a gap when classifying",
    )

    @model_validator(mode="after")
    def _unique_ids(self):
        ids = [r.id for r in self.rules]
        for k, i in enumerate(ids):
            if i in ids[:k]:
                raise At(
                    ("rules", k, "id"),
                    f"rule ids must be unique; first used at rules[{ids.index(i)}]",
                    i,
                )
        return self
