"""The validated configuration (`Deployment`), its contacts and channels, and the address rules:
which contact field a channel sends to. `loader.load_config` builds it; everything else reads it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pydantic import BaseModel, ValidationError

from notifiers.registry import notifier_class
from scheduler.calendar.workdays import WorkCalendar
from scheduler.config import validity
from scheduler.config.schema import AgencySpec, ChannelSpec, ContactSpec, GroupSpec, PlanSpec, PolicySpec
from scheduler.config.yamlfile import ConfigError

# The contact fields a channel's `address` may name; any other name is looked up in the
# contact's `addresses:` mapping under the channel's name.
ADDRESS_FIELDS = ("email", "mobile", "zalo", "webhook")


def address_kind(channel: str) -> str:
    """The contact field `channel` sends to (see Notifier.address)."""
    return notifier_class(channel).address


def contact_address(spec: ContactSpec, channel: str) -> str:
    kind = address_kind(channel)
    if kind == "zalo":
        return spec.zalo or spec.mobile or ""
    if kind in ADDRESS_FIELDS:
        return getattr(spec, kind) or ""
    return spec.addresses.get(channel, "")


@dataclass(frozen=True)
class ChannelConfig:
    """A channel's block of config/channels.yaml, its options validated by its notifier."""

    spec: ChannelSpec
    options: BaseModel | None  # None: the notifier needs options that channels.yaml does not give


@dataclass
class Contact:
    """A contact with its agency and the channels it will be reached on."""

    key: str  # "<agency>/<contact id>", stable across syncs
    agency_id: str
    spec: ContactSpec
    channels: tuple[str, ...]

    fallback: tuple[str, ...] = ()  # the contact's own chain; empty: the channels' chains

    def address(self, channel: str) -> str:
        return contact_address(self.spec, channel)


@dataclass
class Deployment:
    """The validated configuration, with every reference resolved."""

    agencies: dict[str, AgencySpec]
    groups: dict[str, GroupSpec]
    members: dict[str, list[str]]  # group id -> agency ids, in file order
    contacts: dict[str, list[Contact]]  # agency id -> contacts
    policies: dict[str, PolicySpec]
    default_policy: str
    plans: list[PlanSpec]
    workdays: WorkCalendar
    channels: dict[str, ChannelConfig] = field(default_factory=dict)  # config/channels.yaml
    warnings: list[ConfigError] = field(default_factory=list)
    where: dict[tuple[str, ...], str] = field(default_factory=dict)  # (plan, item) -> file:line
    lives: dict[str, validity.Life] = field(default_factory=dict)  # plan id -> its validity

    def life(self, plan: PlanSpec) -> validity.Life:
        """The plan's validity, stopped where a plan that replaces it starts (scheduler/config/validity.py)."""
        return self.lives.get(plan.id) or validity.own_life(plan)

    def resolve(self, refs: Iterable[str]) -> list[str]:
        """Agency IDs named directly or through groups, each once, in order."""
        seen: dict[str, None] = {}
        for ref in refs:
            for agency_id in self.members.get(ref, [ref]):
                seen[agency_id] = None
        return list(seen)

    def name_of(self, ref: str | None) -> str:
        if ref is None:
            return ""
        if ref in self.agencies:
            agency = self.agencies[ref]
            return agency.short_name or agency.name
        return self.groups[ref].name if ref in self.groups else ref

    def contact(self, key: str) -> Contact | None:
        """The contact `<agency>/<contact id>`, if still configured."""
        agency_id = key.split("/", 1)[0]
        return next((c for c in self.contacts.get(agency_id, []) if c.key == key), None)

    def channel(self, name: str) -> ChannelConfig:
        """A channel's configuration (the defaults when channels.yaml does not mention it)."""
        if name not in self.channels:
            try:
                options = notifier_class(name).Options()
            except ValidationError:  # required options: the channel is not configured
                options = None
            self.channels[name] = ChannelConfig(ChannelSpec(), options)
        return self.channels[name]

    def fallback(self, contact: Contact, channel: str) -> list[str]:
        """The channels to try after `channel` for this contact, in order, each with an address."""
        chain = contact.fallback or tuple(self.channel(channel).spec.fallback)
        if channel in chain:
            chain = chain[chain.index(channel) + 1 :]
        return [c for c in chain if c != channel and contact.address(c)]

    def policy(self, plan: PlanSpec, item_policy: str | None) -> PolicySpec:
        return self.policies[item_policy or plan.policy or self.default_policy]
