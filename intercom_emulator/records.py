"""The workspace's records: one small class per Intercom resource.

A record holds only what ids, ordering, filtering, relations and change tracking need. The rest
of what Intercom returns (names, e-mails, bodies, custom attributes ...) is derived from
``(seed, resource, idx, rev)`` when the record is rendered (``render.py``), so a workspace of
300,000 contacts stays small: the classes have ``__slots__`` and relations are tuples of indexes
into the workspace's lists.

Common fields: ``idx`` is the record's position in its list (it seeds its rendered content),
``version`` the workspace version of its last change (``Workspace.changed_ids``), ``rev`` how
many times it was updated (each update renders new content).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

PART_CAP = 500      # Intercom returns only the 500 most recent parts of a conversation or ticket
NONE = -1           # an index field's value when there is no related record


def id_sort_key(id_: str) -> tuple[int, str]:
    """Ids sort numerically when numeric-looking strings, lexicographically within equal length."""
    return (len(id_), id_)


def hex24(seed: int, kind: str, idx: int) -> str:
    """A 24-hex id (contacts, companies, segments, the app), stable for (seed, kind, idx)."""
    return hashlib.md5(f"{seed}:{kind}:{idx}".encode()).hexdigest()[:24]


# ------------------------------------------------------------------ fixed lists (never change)
@dataclass(slots=True, eq=False)
class Admin:
    id: str
    name: str
    email: str
    job_title: str
    away_mode_enabled: bool
    away_mode_reassign: bool
    has_inbox_seat: bool
    team_ids: list[int]


@dataclass(slots=True, eq=False)
class Team:
    id: str
    name: str
    admin_ids: list[int]


@dataclass(slots=True, frozen=True)
class Tag:
    id: str
    name: str


@dataclass(slots=True, frozen=True)
class TicketTypeAttribute:
    id: str
    name: str
    description: str
    data_type: str
    multiline: bool | None      # input_options {"multiline": ...}; None: no input options
    order: int
    default: bool               # one of the two every ticket type has
    visible: bool               # visible_on_create and visible_to_contacts
    ticket_type_id: int
    created_at: int


@dataclass(slots=True, frozen=True)
class TicketType:
    id: str
    category: str
    name: str
    description: str
    icon: str
    workspace_id: str
    archived: bool
    created_at: int
    updated_at: int
    is_internal: bool = False
    attributes: tuple[TicketTypeAttribute, ...] = ()


@dataclass(slots=True, frozen=True)
class HelpCenter:
    id: str
    identifier: str
    display_name: str
    website_turned_on: bool
    created_at: int
    updated_at: int


@dataclass(slots=True, frozen=True)
class Newsfeed:
    id: str
    name: str
    created_at: int
    updated_at: int


@dataclass(slots=True, frozen=True)
class SubscriptionType:
    id: str
    name: str
    description: str
    state: str                  # live, draft or archived
    consent_type: str           # opt_out or opt_in
    content_types: tuple[str, ...]


@dataclass(slots=True, frozen=True)
class TicketState:
    id: str
    category: str               # submitted, in_progress, waiting_on_customer or resolved
    internal_label: str
    external_label: str
    archived: bool
    ticket_type_indexes: tuple[int, ...]    # the ticket types that use it


# ------------------------------------------------------------------------- changing records
@dataclass(slots=True, eq=False)
class Segment:
    idx: int
    id: str
    created_at: int
    updated_at: int
    person_type: str            # "user" or "contact"
    member_count: int           # rendered as ``count`` with include_count=true
    version: int = 0
    rev: int = 0
    deleted: ClassVar[bool] = False     # segments are never deleted here


@dataclass(slots=True, eq=False)
class Company:
    idx: int
    id: str
    created_at: int
    updated_at: int
    segment_indexes: tuple[int, ...]
    tag_indexes: tuple[int, ...]
    version: int = 0
    rev: int = 0
    deleted: ClassVar[bool] = False     # companies are never deleted here


@dataclass(slots=True, eq=False)
class Contact:
    idx: int
    id: str
    created_at: int
    updated_at: int
    searchable_at: float        # search finds the contact from this time on (Intercom's index delay)
    company_indexes: tuple[int, ...]
    tag_indexes: tuple[int, ...]
    note_count: int
    version: int = 0
    rev: int = 0
    deleted: ClassVar[bool] = False     # contacts are never deleted here


def note_id(contact: Contact, k: int) -> str:
    """The id of a contact's k-th note: room for 20 notes a contact."""
    return str(800_000 + contact.idx * 20 + k)


class Part(NamedTuple):
    """A conversation or ticket part (a tuple: conversations with 600 parts stay cheap)."""
    id: int
    created_at: int
    updated_at: int
    version: int
    type_index: int             # index into vocabulary.PART_TYPES
    admin_index: int            # the admin who wrote it, or NONE: the conversation's contact did
    salt: int                   # seeds the rendered body and attachments


@dataclass(slots=True, eq=False)
class Conversation:
    idx: int
    id: str
    created_at: int
    updated_at: int
    contact_index: int          # or NONE
    admin_index: int            # the assignee, or NONE
    tag_indexes: tuple[int, ...]
    parts: list[Part]
    version: int = 0
    rev: int = 0
    deleted_at: int | None = None       # set when deleted: GET /conversations/deleted lists it from then on
    metrics_retained: bool = False      # whether its metrics outlive it (shown with deleted_at)

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(slots=True, eq=False)
class Ticket:
    idx: int
    id: str
    created_at: int
    updated_at: int
    contact_index: int          # or NONE
    ticket_type_index: int
    parts: list[Part]
    version: int = 0
    rev: int = 0
    deleted: ClassVar[bool] = False     # tickets are never deleted here


@dataclass(slots=True, eq=False)
class Collection:
    """A help center collection; one with a parent collection is a section of it."""
    idx: int
    id: str
    created_at: int
    updated_at: int
    help_center_index: int      # or NONE
    parent_index: int           # the collection it is a section of, or NONE
    order: int
    version: int = 0
    rev: int = 0
    deleted: ClassVar[bool] = False     # collections are never deleted here


@dataclass(slots=True, eq=False)
class Article:
    idx: int
    id: str
    created_at: int
    updated_at: int
    collection_index: int       # its parent collection, or NONE (an article standing alone)
    author_index: int           # the admin who wrote it
    published: bool             # else a draft
    version: int = 0
    rev: int = 0
    deleted: ClassVar[bool] = False     # articles are never deleted here


@dataclass(slots=True, eq=False)
class NewsItem:
    idx: int
    id: str
    created_at: int
    updated_at: int
    newsfeed_indexes: tuple[int, ...]
    sender_index: int           # the admin who sent it
    live: bool                  # else a draft
    version: int = 0
    rev: int = 0
    deleted: ClassVar[bool] = False     # news items are never deleted here


@dataclass(slots=True, eq=False)
class Call:
    idx: int
    id: str
    created_at: int             # initiated_at too
    updated_at: int
    duration: int               # seconds from answer to end (0: never answered)
    conversation_index: int     # NONE: no conversation
    admin_index: int
    contact_index: int          # NONE: no contact
    inbound: bool
    version: int = 0
    rev: int = 0                # each update moves the call on (completed, then with a recording)
    deleted: ClassVar[bool] = False     # calls are never deleted here


@dataclass(slots=True, eq=False)
class ActivityLog:
    idx: int
    id: str
    created_at: int
    admin_index: int            # the admin who performed it (modulo the number of admins)
    activity_type_index: int    # index into vocabulary.ACTIVITY_TYPES
    version: int = 0
