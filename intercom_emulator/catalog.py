"""The workspace's fixed lists: admins, teams, tags, ticket types, data attributes, help centers,
newsfeeds and subscription types.

They are built once, before the changing records, and never change afterwards. Functions that
take ``rng`` draw from the workspace's generator: call them in the order ``Workspace`` does.
"""
from __future__ import annotations

import random

from .records import Admin, HelpCenter, Newsfeed, SubscriptionType, Tag, Team, TicketState, TicketType, TicketTypeAttribute
from .vocabulary import (COMPANY_ARCHIVED_ATTRS, COMPANY_BUILTIN_ATTRS, COMPANY_CUSTOM_ATTRS, COMPANY_WORDS,
                         CONTACT_ARCHIVED_ATTRS, CONTACT_BUILTIN_ATTRS, CONTACT_CUSTOM_ATTRS,
                         CONVERSATION_ARCHIVED_ATTRS, CONVERSATION_BUILTIN_ATTRS, CONVERSATION_CUSTOM_ATTRS,
                         FIRST_NAMES, LAST_NAMES, TICKET_CATEGORIES, TICKET_TYPE_CUSTOM_ATTRS, WORDS)

JOB_TITLES = ["Support", "Success", "Engineer", "Founder", "Sales"]
HELP_CENTER_NAMES = ["Help Center", "Developer Docs", "Partner Portal", "Status & Billing", "Academy"]
NEWSFEED_NAMES = ["Visitor Feed", "Customer Feed", "Admin Feed", "Beta Feed", "Partner Feed"]
# (name, description, consent_type, content_types): the state is live except every 4th (draft, archived)
SUBSCRIPTION_TYPES = [("Newsletters", "Our monthly newsletter", "opt_out", ("email",)),
                      ("Product updates", "New features and improvements", "opt_in", ("email",)),
                      ("SMS offers", "Offers by text message", "opt_in", ("sms_message",)),
                      ("Events", "Webinars and meetups near you", "opt_out", ("email", "sms_message")),
                      ("Surveys", "Tell us what you think", "opt_in", ("email",))]
TICKET_TYPE_NAMES = ["Bug", "Feature request", "Question", "Incident", "Billing"]
FIRST_CUSTOM_ATTRIBUTE_ID = 12001


def make_admins(rng: random.Random, count: int, seed: int, app_id: str) -> list[Admin]:
    admins = []
    for i in range(count):
        first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i * 7 + seed) % len(LAST_NAMES)]
        email = f"{first.lower()}.{last.lower().replace(' ', '')}@{app_id}.admins.example"
        job_title = rng.choice(JOB_TITLES)
        away = rng.random() < 0.2
        inbox_seat = rng.random() < 0.9
        admins.append(Admin(id=str(990000 + i * 17), name=f"{first} {last}", email=email, job_title=job_title,
                            away_mode_enabled=away, away_mode_reassign=False, has_inbox_seat=inbox_seat,
                            team_ids=[]))
    return admins


def make_teams(rng: random.Random, count: int, admins: list[Admin]) -> list[Team]:
    """Teams of random admins; each member admin gets the team's id in its ``team_ids``."""
    teams = []
    for i in range(count):
        n = len(admins)
        members = sorted({rng.randrange(max(1, n)) for _ in range(max(1, n // 2))}) if n else []
        team = Team(id=str(814000 + i * 3), name=f"Team {COMPANY_WORDS[i % len(COMPANY_WORDS)]}",
                    admin_ids=[int(admins[m].id) for m in members])
        for m in members:
            admins[m].team_ids.append(int(team.id))
        teams.append(team)
    return teams


def make_tags(count: int) -> list[Tag]:
    return [Tag(id=str(170000 + i * 11), name=f"tag-{WORDS[i % len(WORDS)]}-{i}") for i in range(count)]


def make_ticket_types(count: int, app_id: str, app_created_at: int) -> list[TicketType]:
    """At least one ticket type: every ticket has one. Each has the two default attributes and one
    of its own; Back-office types are internal."""
    types = []
    for i in range(max(1, count)):
        created = app_created_at + i * 1000
        category = TICKET_CATEGORIES[i % 3]
        types.append(TicketType(id=str(30 + i), category=category, name=TICKET_TYPE_NAMES[i % 5],
                                description="Generated ticket type", icon="🎟", workspace_id=app_id, archived=False,
                                created_at=created, updated_at=created, is_internal=category == "Back-office",
                                attributes=_ticket_type_attributes(i, 30 + i, created)))
    return types


def _ticket_type_attributes(i: int, type_id: int, created_at: int) -> tuple[TicketTypeAttribute, ...]:
    name, data_type = TICKET_TYPE_CUSTOM_ATTRS[i % len(TICKET_TYPE_CUSTOM_ATTRS)]
    first_id = 200 + 3 * i
    return (TicketTypeAttribute(str(first_id), "_default_title_", "", "string", False, 0, True, True, type_id,
                                created_at),
            TicketTypeAttribute(str(first_id + 1), "_default_description_", "", "string", True, 1, True, True,
                                type_id, created_at),
            TicketTypeAttribute(str(first_id + 2), name, f"The ticket's {name.replace('_', ' ')}", data_type, None,
                                2, False, False, type_id, created_at))


def make_data_attributes(app_created_at: int, admins: list[Admin]) -> dict[str, list[dict]]:
    """Per model, the data attributes as Intercom lists them: built-in ones first (no id), then
    custom ones (integer ids, numbered across models)."""
    out: dict[str, list[dict]] = {}
    next_id = FIRST_CUSTOM_ATTRIBUTE_ID
    for model, builtins, customs in (("contact", CONTACT_BUILTIN_ATTRS, CONTACT_CUSTOM_ATTRS),
                                     ("company", COMPANY_BUILTIN_ATTRS, COMPANY_CUSTOM_ATTRS),
                                     ("conversation", CONVERSATION_BUILTIN_ATTRS, CONVERSATION_CUSTOM_ATTRS)):
        out[model] = [_builtin_attribute(model, name, data_type) for name, data_type in builtins]
        for name, data_type in customs:
            out[model].append(_custom_attribute(model, name, data_type, next_id, app_created_at, admins))
            next_id += 1
    for model, archived in (("contact", CONTACT_ARCHIVED_ATTRS), ("company", COMPANY_ARCHIVED_ATTRS),
                            ("conversation", CONVERSATION_ARCHIVED_ATTRS)):
        for name, data_type in archived:     # numbered after every live one: their ids stay
            out[model].append({**_custom_attribute(model, name, data_type, next_id, app_created_at, admins),
                               "archived": True})
            next_id += 1
    return out


def _builtin_attribute(model: str, name: str, data_type: str) -> dict:
    return {"type": "data_attribute", "name": name.split(".")[-1], "full_name": name,
            "label": name.replace("_", " ").replace(".", " ").title(),
            "description": f"Built-in {model} attribute {name}", "data_type": data_type, "model": model,
            "api_writable": False, "ui_writable": False, "messenger_writable": False,
            "custom": False, "archived": False}


def _custom_attribute(model: str, name: str, data_type: str, attribute_id: int, app_created_at: int,
                      admins: list[Admin]) -> dict:
    return {"type": "data_attribute", "id": attribute_id, "model": model, "name": name,
            "full_name": f"custom_attributes.{name}", "label": name.replace("_", " ").title(),
            "description": f"Custom {model} attribute", "data_type": data_type,
            "options": ["true", "false"] if data_type == "boolean" else None,
            "api_writable": True, "ui_writable": True, "messenger_writable": False,
            "custom": True, "archived": False, "created_at": app_created_at + attribute_id,
            "updated_at": app_created_at + attribute_id,
            "admin_id": admins[0].id if admins else None}


def make_help_centers(count: int, app_id: str, app_created_at: int) -> list[HelpCenter]:
    """Help centers made soon after the app; the first one's website is on."""
    return [HelpCenter(id=str(90 + i), identifier=f"{app_id}-{i + 1}",
                       display_name=HELP_CENTER_NAMES[i % len(HELP_CENTER_NAMES)] + ("" if i < 5 else f" {i}"),
                       website_turned_on=i == 0, created_at=app_created_at + 3600 * (i + 1),
                       updated_at=app_created_at + 3600 * (i + 2))
            for i in range(count)]


def make_newsfeeds(count: int, app_created_at: int) -> list[Newsfeed]:
    return [Newsfeed(id=str(68 + i), name=NEWSFEED_NAMES[i % len(NEWSFEED_NAMES)] + ("" if i < 5 else f" {i}"),
                     created_at=app_created_at + 7200 * (i + 1), updated_at=app_created_at + 7200 * (i + 1))
            for i in range(count)]


TICKET_STATES = [("submitted", "Submitted", "Submitted"), ("in_progress", "In progress", "In progress"),
                 ("waiting_on_customer", "Waiting on customer", "Waiting on you"), ("resolved", "Resolved", "Resolved"),
                 ("in_progress", "With Dev Team", "In progress")]


def make_ticket_states(count: int, ticket_types: int) -> list[TicketState]:
    """Intercom's four categories, then custom states; the last of five or more is archived. Each
    state is used by every ticket type, custom ones by every other type."""
    states = []
    for i in range(count):
        category, internal, external = TICKET_STATES[i % len(TICKET_STATES)]
        types = tuple(range(ticket_types)) if i < 4 else tuple(range(i % 2, ticket_types, 2))
        states.append(TicketState(id=str(8269 + i), category=category, internal_label=internal + ("" if i < 5 else f" {i}"),
                                  external_label=external, archived=i >= 4 and i == count - 1, ticket_type_indexes=types))
    return states


def make_subscription_types(count: int) -> list[SubscriptionType]:
    types = []
    for i in range(count):
        name, description, consent_type, content_types = SUBSCRIPTION_TYPES[i % len(SUBSCRIPTION_TYPES)]
        state = ("live", "live", "live", "draft", "live", "archived")[i % 6]
        types.append(SubscriptionType(id=str(137 + i), name=name + ("" if i < 5 else f" {i}"), description=description,
                                      state=state, consent_type=consent_type, content_types=content_types))
    return types
