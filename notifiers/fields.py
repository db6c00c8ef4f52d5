"""The fields of a reminder a channel's provider template may name (a ZNS template's params,
an SMS brandname template), and every value the configuration gives them, for load-time checks.

`deployment` is scheduler.config.deployment.Deployment; this module reads only its public attributes,
so that channels need nothing from `scheduler`."""

from __future__ import annotations

from typing import Any

FIELDS = (
    "kind", "agency", "contact", "plan", "plan_number", "item", "deadline", "effective_due", "end",
    "days_left", "to_agency", "via_agency", "focal_agency", "confirm_url", "data_period",
)  # fmt: skip


def field_values(deployment: Any) -> dict[str, set[str]]:
    """Every value a configuration-derived field can take, for load-time length checks.
    Dates are 10 characters, `data_period` 23 or none, `days_left` at most 4, `kind` at most 10; `confirm_url`
    depends on NHACVIEC_PUBLIC_URL (about 60 characters plus its length)."""
    agencies = {deployment.name_of(a) for a in deployment.agencies}
    agencies_or_groups = agencies | {g.name for g in deployment.groups.values()}
    items = {
        item.title
        for plan in deployment.plans
        for section in (plan.obligations, plan.windows, plan.observances)
        for item in section
    }
    return {
        "agency": agencies,
        "contact": {c.spec.name for contacts in deployment.contacts.values() for c in contacts},
        "plan": {plan.title for plan in deployment.plans},
        "plan_number": {plan.number or "" for plan in deployment.plans},
        "item": items,
        "to_agency": agencies_or_groups,
        "via_agency": agencies_or_groups,
        "focal_agency": agencies_or_groups,
    }
