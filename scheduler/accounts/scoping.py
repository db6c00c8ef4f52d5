"""What each role may see and do, in one place for every page.

- admin: every plan; every action.
- focal: the plans whose `focal_agency` is the user's agency; every action on those plans.
- viewer: every plan, read only: no action anywhere (the pages show no buttons, and a POST
  is refused).

A disabled user sees and does nothing. A plan the user may not see is answered exactly as a
plan that does not exist would be, except that the refusal page says who is signed in and what
they may see.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from scheduler.accounts.users import Role, User


class PlanLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def focal_agency(self) -> str: ...


P = TypeVar("P", bound=PlanLike)


def may_see(user: User | None, plan: PlanLike) -> bool:
    if user is None or user.disabled:
        return False
    if user.role is Role.FOCAL:
        return user.agency_id is not None and plan.focal_agency == user.agency_id
    return user.role in (Role.ADMIN, Role.VIEWER)


def may_act(user: User | None, plan: PlanLike) -> bool:
    """Whether `user` may act on `plan` (mark received, waive, extend, remind, reopen)."""
    if user is None or user.disabled or user.role is Role.VIEWER:
        return False
    return may_see(user, plan)


def sees_every_plan(user: User | None) -> bool:
    """Admins and viewers see every plan, those of the configuration and those no longer in it
    (the ledger keeps their reminders)."""
    return user is not None and not user.disabled and user.role in (Role.ADMIN, Role.VIEWER)


def may_operate(user: User | None) -> bool:
    """The deliveries page and its retries (the outbox across plans): admins only."""
    return user is not None and not user.disabled and user.role is Role.ADMIN


def visible_plans(user: User | None, plans: Iterable[P]) -> list[P]:
    return [plan for plan in plans if may_see(user, plan)]
