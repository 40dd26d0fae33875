"""A deterministic Intercom workspace: generation, changes, and the ground truth a sync must reach.

Generation draws every record from one generator seeded with ``seed``, in a fixed order, so a
seed (and ``anchor_time``) always gives the same workspace. Changes (``update_*``, ``add_*``,
``mutate_random``) bump ``version`` and stamp the records they touch with it.

Every public method takes ``self.lock`` (an RLock); the HTTP server holds the same lock while it
reads workspace state.
"""
from __future__ import annotations

import random
import threading
import time
from typing import Callable

from . import catalog
from .records import (NONE, PART_CAP, ActivityLog, Article, Call, Collection, Company, Contact, Conversation, NewsItem,
                      Part, Segment, Ticket, hex24, id_sort_key, note_id)
from .sizes import WorkspaceSizes
from .vocabulary import ACTIVITY_TYPES, DAY, PART_TYPES

# Relationship streams: one row per item of a list its parent embeds, (parent id, item id).
EMBEDDED_LIST_STREAMS = ("company_tags", "conversation_tags", "conversation_contacts", "conversation_teammates",
                         "ticket_contacts")
INCREMENTAL_STREAMS = ("companies", "company_segments", "contacts", "contact_tags", "contact_companies",
                       "conversations", "conversation_parts", "deleted_conversations", "activity_logs", "tickets",
                       "ticket_parts", "segments", "articles", "help_center_collections", "news_items",
                       "calls") + EMBEDDED_LIST_STREAMS
PAIR_STREAMS = ("company_segments", "contact_tags", "contact_companies",
                "team_admins") + EMBEDDED_LIST_STREAMS  # keys: (parent id, child id)
FULL_STREAMS = ("admins", "teams", "team_admins", "tags", "company_attributes", "contact_attributes",
                "conversation_attributes", "ticket_types", "ticket_states", "help_centers", "newsfeeds",
                "subscription_types")
ALL_STREAMS = FULL_STREAMS + INCREMENTAL_STREAMS
FIRST_PART_ID = 10_000_000
MAX_CONTACT_TAGS = 25           # a contact's tags: the contact embeds 10, GET /contacts/{id}/tags all
MAX_CONTACT_COMPANIES = 15
MAX_CONTACT_NOTES = 19          # note ids leave room for 20 a contact (render.note_id)
MANY_COMPANIES_EVERY = 50       # every 50th contact belongs to more than 10 companies
MANY_NOTES_EVERY = 30           # every 30th contact has more than 10 notes
MANY_TICKET_PARTS_EVERY = 10    # every 10th ticket has more parts than a search result carries
GROUP_CONVERSATION_EVERY = 10   # every 10th conversation has one or two more contacts (a group conversation)
NEVER = -(1 << 62)          # a start date before every record


class Workspace:
    def __init__(self, seed: int = 1, sizes: WorkspaceSizes | None = None, span_days: int = 120,
                 contacts_index_delay: float = 0.0, timezone_offset_hours: float = 0,
                 anchor_time: int | None = None, clock: Callable[[], float] = time.time):
        self.seed = seed
        # "now" in unix seconds: the time changes are stamped with, and the time the contacts index
        # delay runs on. A test that must not depend on the machine's speed passes a clock it sets.
        self.clock = clock
        self.sizes = sizes or WorkspaceSizes()
        self.span_days = span_days
        self.contacts_index_delay = float(contacts_index_delay)
        self.timezone_offset_hours = timezone_offset_hours
        self.lock = threading.RLock()
        self.version = 0
        # anchor: "now" at generation time; generated timestamps lie in [anchor-span, anchor-1h]
        self.anchor = int(anchor_time if anchor_time is not None else clock())
        self.app_id = hex24(seed, "app", 0)[:8]
        self.app_created_at = self.anchor - (span_days + 30) * DAY
        self._next_part_id = FIRST_PART_ID
        self._generate()

    # ------------------------------------------------------------------------------- time
    def now(self) -> int:
        return int(self.clock())

    def day_of(self, ts: float) -> int:
        """Calendar day number of a unix time in the workspace time zone."""
        return int((ts + self.timezone_offset_hours * 3600) // DAY)

    # ------------------------------------------------------------------------- generation
    def _generate(self) -> None:
        s = self.sizes
        rng = random.Random(self.seed)
        t_start, t_end = self.anchor - self.span_days * DAY, self.anchor - 3600

        def span(lo: int = t_start) -> tuple[int, int]:
            """(created_at, updated_at): 70% of records were updated after their creation."""
            c = rng.randint(lo, t_end)
            u = rng.randint(c, t_end) if rng.random() < 0.7 else c
            return c, u

        self.admins = catalog.make_admins(rng, s.admins, self.seed, self.app_id)
        self.teams = catalog.make_teams(rng, s.teams, self.admins)
        self.tags = catalog.make_tags(s.tags)
        self.ticket_types = catalog.make_ticket_types(s.ticket_types, self.app_id, self.app_created_at)
        self.data_attributes = catalog.make_data_attributes(self.app_created_at, self.admins)

        self.segments = [self._new_segment(rng, i, *span(self.app_created_at)) for i in range(s.segments)]
        self.companies = [self._new_company(rng, i, *span()) for i in range(s.companies)]
        self.company_by_id = {r.id: r for r in self.companies}
        self.contacts = [self._new_contact(rng, i, *span()) for i in range(s.contacts)]
        self.contact_by_id = {r.id: r for r in self.contacts}
        self.conversations = []
        for i in range(s.conversations):
            n_parts = s.parts_over_part_cap if i < s.conversations_over_part_cap else s.parts_per_conversation
            created = rng.randint(t_start, t_end - 3600)
            self.conversations.append(self._new_conversation(rng, i, created, n_parts, t_end))
        self.conversation_by_id = {r.id: r for r in self.conversations}
        self.activity_logs = [self._new_activity_log(rng, i, rng.randint(t_start, t_end))
                              for i in range(s.activity_logs)]
        self.tickets = [self._new_ticket(rng, i, *span()) for i in range(s.tickets)]
        self.ticket_by_id = {r.id: r for r in self.tickets}
        self._generate_help_center_and_news(t_start, t_end)
        self._generate_deleted_conversations(t_start, t_end)
        self._generate_api_2_16(t_start, t_end)

    def _generate_help_center_and_news(self, t_start: int, t_end: int) -> None:
        """From a generator of their own: the records generated before them stay as they were."""
        s = self.sizes
        rng = random.Random(f"{self.seed}:help-center-and-news")

        def span() -> tuple[int, int]:
            c = rng.randint(t_start, t_end)
            return c, (rng.randint(c, t_end) if rng.random() < 0.7 else c)

        self.help_centers = catalog.make_help_centers(s.help_centers, self.app_id, self.app_created_at)
        self.newsfeeds = catalog.make_newsfeeds(s.newsfeeds, self.app_created_at)
        self.subscription_types = catalog.make_subscription_types(s.subscription_types)
        self.collections, self.collection_by_id = [], {}
        for i in range(s.collections):
            self._append(self.collections, self.collection_by_id, self._new_collection(rng, i, *span()))
        self.articles, self.article_by_id = [], {}
        for i in range(s.articles):
            self._append(self.articles, self.article_by_id, self._new_article(rng, i, *span()))
        self.news_items, self.news_item_by_id = [], {}
        for i in range(s.news_items):
            self._append(self.news_items, self.news_item_by_id, self._new_news_item(rng, i, *span()))

    def _generate_deleted_conversations(self, t_start: int, t_end: int) -> None:
        """``deleted_conversations`` more conversations, deleted some time after their last part
        (their own generator: the records generated before stay as they were)."""
        rng = random.Random(f"{self.seed}:deleted-conversations")
        for _ in range(self.sizes.deleted_conversations):
            created = rng.randint(t_start, t_end - 3600)
            r = self._new_conversation(rng, len(self.conversations), created, rng.randint(1, 4), t_end)
            self._append_conversation(r)
            self._mark_deleted(r, 0, rng.randint(r.updated_at, t_end))

    def _generate_api_2_16(self, t_start: int, t_end: int) -> None:
        """Ticket states and calls (API 2.16), from a generator of their own."""
        rng = random.Random(f"{self.seed}:api-2.16")
        self.ticket_states = catalog.make_ticket_states(self.sizes.ticket_states, len(self.ticket_types))
        self.calls, self.call_by_id = [], {}
        for i in range(self.sizes.calls):
            created = rng.randint(t_start, t_end - 3600)
            self._append(self.calls, self.call_by_id, self._new_call(rng, i, created, rng.randint(created + 60, t_end)))

    # ---------------------------------------------------------------------- record factories
    # Each draws from ``rng`` in a fixed order: generation and mutation replay it exactly.
    def _sample_indexes(self, rng: random.Random, population: int, k: int) -> tuple[int, ...]:
        return tuple(sorted(rng.sample(range(population), k)))

    def _new_segment(self, rng: random.Random, i: int, created: int, updated: int) -> Segment:
        return Segment(idx=i, id=hex24(self.seed, "segment", i), created_at=created, updated_at=updated,
                       person_type="contact" if i % 3 else "user",
                       member_count=rng.randint(0, max(1, self.sizes.contacts)))

    def _company_segment_indexes(self, rng: random.Random) -> tuple[int, ...]:
        k = min(self.sizes.company_segments_per_company, len(self.segments))
        return self._sample_indexes(rng, len(self.segments), k) if k else ()

    def _new_company(self, rng: random.Random, i: int, created: int, updated: int, version: int = 0) -> Company:
        segment_indexes = self._company_segment_indexes(rng)
        n_tags = len(self.tags)
        tag_indexes = self._sample_indexes(rng, n_tags, min(n_tags, rng.randint(0, 3)))
        return Company(idx=i, id=hex24(self.seed, "company", i), created_at=created, updated_at=updated,
                       segment_indexes=segment_indexes, tag_indexes=tag_indexes, version=version)

    def _contact_company_indexes(self, rng: random.Random, i: int) -> tuple[int, ...]:
        """Most contacts belong to 1 or 2 companies (20% to none); every 50th to 11-15 (has_more)."""
        many = i % MANY_COMPANIES_EVERY == 7 and self.sizes.contacts_with_long_lists
        wanted = rng.randint(11, MAX_CONTACT_COMPANIES) if many else (rng.randint(1, 2) if rng.random() < 0.8 else 0)
        return self._sample_indexes(rng, len(self.companies), min(len(self.companies), wanted))

    def _contact_tag_indexes(self, rng: random.Random) -> tuple[int, ...]:
        """Most contacts carry 0-3 tags; about 10% carry 11-25 (as many as the workspace has)."""
        many = rng.random() < 0.1 and self.sizes.contacts_with_long_lists
        wanted = rng.randint(11, MAX_CONTACT_TAGS) if many else rng.choice((0, 0, 1, 2, 3))
        return self._sample_indexes(rng, len(self.tags), min(len(self.tags), wanted))

    def _contact_note_count(self, rng: random.Random, i: int) -> int:
        """Most contacts have 0-3 notes; every 30th has 11-19 (has_more, and two pages of 15)."""
        many = i % MANY_NOTES_EVERY == 11 and self.sizes.contacts_with_long_lists
        return rng.randint(11, MAX_CONTACT_NOTES) if many else rng.choice((0, 0, 0, 1, 2, 3))

    def _new_contact(self, rng: random.Random, i: int, created: int, updated: int, version: int = 0) -> Contact:
        return Contact(idx=i, id=hex24(self.seed, "contact", i), created_at=created, updated_at=updated,
                       searchable_at=updated, company_indexes=self._contact_company_indexes(rng, i),
                       tag_indexes=self._contact_tag_indexes(rng), note_count=self._contact_note_count(rng, i),
                       version=version)

    def _new_part(self, rng: random.Random, created_at: int, version: int) -> Part:
        part_id = self._next_part_id
        self._next_part_id += 1
        type_index = rng.randrange(len(PART_TYPES))
        admin_index = rng.randrange(max(1, len(self.admins))) if rng.random() < 0.55 else NONE
        return Part(part_id, created_at, created_at, version, type_index, admin_index, rng.randrange(1 << 30))

    def _new_conversation(self, rng: random.Random, i: int, created: int, n_parts: int, latest: int,
                          version: int = 0) -> Conversation:
        """A conversation with ``n_parts`` parts written between ``created`` and ``latest``."""
        contact_index = rng.randrange(len(self.contacts)) if self.contacts else NONE
        admin_index = rng.randrange(len(self.admins)) if self.admins and rng.random() < 0.8 else NONE
        n_tags = len(self.tags)
        tag_indexes = self._sample_indexes(rng, n_tags, min(n_tags, rng.randint(0, 2)))
        times = sorted(rng.randint(created, max(created, latest)) for _ in range(n_parts))
        parts = [self._new_part(rng, t, version) for t in times]
        return Conversation(idx=i, id=str(10_000 + i), created_at=created,
                            updated_at=times[-1] if times else created, contact_index=contact_index,
                            admin_index=admin_index, tag_indexes=tag_indexes, parts=parts, version=version)

    def _new_activity_log(self, rng: random.Random, i: int, created_at: int, version: int = 0) -> ActivityLog:
        admin_index = rng.randrange(max(1, len(self.admins)))
        return ActivityLog(idx=i, id=str(5_000_000 + i), created_at=created_at, admin_index=admin_index,
                           activity_type_index=rng.randrange(len(ACTIVITY_TYPES)), version=version)

    def _ticket_part_count(self, rng: random.Random, i: int) -> int:
        """A few parts for most tickets; 11-40 for every 10th (more than a search result carries);
        the first ``tickets_over_part_cap`` tickets more than PART_CAP."""
        s = self.sizes
        if i < s.tickets_over_part_cap:
            return s.ticket_parts_over_part_cap
        if i % MANY_TICKET_PARTS_EVERY == 3:
            return rng.randint(11, 40)
        return rng.randint(1, max(1, 2 * s.ticket_parts_per_ticket - 1))

    def _new_ticket(self, rng: random.Random, i: int, created: int, updated: int, version: int = 0) -> Ticket:
        """Its parts were written between its creation (the first part) and its last update."""
        contact_index = rng.randrange(len(self.contacts)) if self.contacts else NONE
        ticket_type_index = rng.randrange(len(self.ticket_types))
        n = self._ticket_part_count(rng, i)
        times = sorted([created] + [rng.randint(created, updated) for _ in range(n - 1)])
        parts = [self._new_part(rng, t, version) for t in times]
        return Ticket(idx=i, id=str(70_000 + i), created_at=created, updated_at=updated,
                      contact_index=contact_index, ticket_type_index=ticket_type_index, parts=parts,
                      version=version)

    def _new_collection(self, rng: random.Random, i: int, created: int, updated: int, version: int = 0) -> Collection:
        """Collections go round the help centers; about a third are sections of an earlier
        top-level collection of the same help center."""
        n_centers = len(self.help_centers)
        center = i % n_centers if n_centers else NONE
        parents = [c.idx for c in self.collections if c.parent_index == NONE and c.help_center_index == center]
        parent = rng.choice(parents) if parents and rng.random() < 0.35 else NONE
        return Collection(idx=i, id=str(10_500_000 + i), created_at=created, updated_at=updated,
                          help_center_index=center, parent_index=parent, order=rng.randint(1, 40), version=version)

    def _new_article(self, rng: random.Random, i: int, created: int, updated: int, version: int = 0) -> Article:
        """85% filed in a collection (or a section), 80% published."""
        n_collections = len(self.collections)
        collection = rng.randrange(n_collections) if n_collections and rng.random() < 0.85 else NONE
        return Article(idx=i, id=str(9_000_000 + i), created_at=created, updated_at=updated,
                       collection_index=collection, author_index=rng.randrange(max(1, len(self.admins))),
                       published=rng.random() < 0.8, version=version)

    def _new_news_item(self, rng: random.Random, i: int, created: int, updated: int, version: int = 0) -> NewsItem:
        """On one or two newsfeeds (none when the workspace has none), 75% live."""
        n_feeds = len(self.newsfeeds)
        feeds = self._sample_indexes(rng, n_feeds, min(n_feeds, rng.randint(1, 2)))
        return NewsItem(idx=i, id=str(3_000 + i), created_at=created, updated_at=updated, newsfeed_indexes=feeds,
                        sender_index=rng.randrange(max(1, len(self.admins))), live=rng.random() < 0.75,
                        version=version)

    def _new_call(self, rng: random.Random, i: int, created: int, updated: int, version: int = 0) -> Call:
        """A call, 80% answered, 60% about a conversation, 90% with a known contact."""
        live = [r.idx for r in self.conversations if not r.deleted]
        return Call(idx=i, id=str(40_000 + i), created_at=created, updated_at=updated,
                    duration=rng.randint(20, 1200) if rng.random() < 0.8 else 0,
                    conversation_index=rng.choice(live) if live and rng.random() < 0.6 else NONE,
                    admin_index=rng.randrange(max(1, len(self.admins))),
                    contact_index=rng.randrange(len(self.contacts)) if self.contacts and rng.random() < 0.9 else NONE,
                    inbound=rng.random() < 0.5, version=version)

    def update_call(self, call_id, updated_at: int | None = None) -> str:
        return self._update_content(self.call_by_id, call_id, "call", updated_at)

    def add_call(self, updated_at: int | None = None) -> str:
        with self.lock:
            v = self._bump()
            now = int(updated_at if updated_at is not None else self.now())
            r = self._new_call(random.Random(f"{self.seed}:new-call:{len(self.calls)}"), len(self.calls), now, now, v)
            self._append(self.calls, self.call_by_id, r)
            return r.id

    # ---------------------------------------------------------------------------- changes
    def _bump(self) -> int:
        self.version += 1
        return self.version

    def _find(self, table: dict, id_, what: str):
        r = table.get(str(id_))
        if r is None:
            raise KeyError(f"unknown {what} {id_!r}")
        return r

    def _index_delay_from_now(self) -> float:
        return self.clock() + self.contacts_index_delay

    def update_contact(self, contact_id, updated_at: int | None = None, searchable_at: float | None = None) -> str:
        with self.lock:
            r = self._find(self.contact_by_id, contact_id, "contact")
            v = self._bump()
            r.updated_at = int(updated_at if updated_at is not None else self.now())
            r.created_at = min(r.created_at, r.updated_at)
            r.searchable_at = searchable_at if searchable_at is not None else self._index_delay_from_now()
            r.rev += 1
            r.version = v
            return r.id

    def add_contact(self, updated_at: int | None = None, searchable_at: float | None = None) -> str:
        with self.lock:
            v = self._bump()
            now = self.now()
            u = int(updated_at if updated_at is not None else now)
            rng = random.Random(f"{self.seed}:new-contact:{len(self.contacts)}")
            r = self._new_contact(rng, len(self.contacts), min(u, now), u, v)
            r.searchable_at = searchable_at if searchable_at is not None else self._index_delay_from_now()
            self._append_contact(r)
            return r.id

    def update_company(self, company_id, updated_at: int | None = None) -> str:
        with self.lock:
            r = self._find(self.company_by_id, company_id, "company")
            r.version = self._bump()
            r.updated_at = int(updated_at if updated_at is not None else self.now())
            r.created_at = min(r.created_at, r.updated_at)
            r.rev += 1
            return r.id

    def add_company(self, updated_at: int | None = None) -> str:
        with self.lock:
            v = self._bump()
            u = int(updated_at if updated_at is not None else self.now())
            rng = random.Random(f"{self.seed}:new-company:{len(self.companies)}")
            r = self._new_company(rng, len(self.companies), u, u, v)
            self._append_company(r)
            return r.id

    def change_company_segments_silently(self, company_id=None, count: int | None = None, seed: int = 0) -> list[str]:
        """Move one company (``company_id``) or ``count`` random ones in or out of a segment
        WITHOUT updating them. Intercom's segments are rules ("last seen more than 30 days ago"):
        membership changes as time passes while the company's ``updated_at`` stays. So only a
        full read sees the change; ``changed_ids`` does not list it (the workspace version moves,
        the companies' do not). Returns the changed companies' ids."""
        with self.lock:
            if company_id is not None:
                chosen = [self._find(self.company_by_id, company_id, "company")]
            else:
                chosen = random.Random(seed).sample(self.companies, min(count or 0, len(self.companies)))
            if chosen and not self.segments:
                raise KeyError("the workspace has no segments")
            rng = random.Random(f"{self.seed}:silent-segments:{self.version}:{seed}")
            for r in chosen:
                r.segment_indexes = self._other_segment_indexes(rng, r.segment_indexes)
            self._bump()
            return [r.id for r in chosen]

    def _other_segment_indexes(self, rng: random.Random, current: tuple[int, ...]) -> tuple[int, ...]:
        """``current`` with one segment left or joined (always a different membership)."""
        outside = [i for i in range(len(self.segments)) if i not in current]
        inside = list(current)
        if outside and (not inside or rng.random() < 0.5):
            inside.append(rng.choice(outside))
        else:
            inside.remove(rng.choice(inside))
        return tuple(sorted(inside))

    def add_conversation(self, created_at: int | None = None, n_parts: int = 2) -> str:
        with self.lock:
            v = self._bump()
            c = int(created_at if created_at is not None else self.now())
            rng = random.Random(f"{self.seed}:new-conversation:{len(self.conversations)}")
            r = self._new_conversation(rng, len(self.conversations), c, 0, c, v)
            r.parts = [self._new_part(rng, c, v) for _ in range(max(1, n_parts))]
            self._append_conversation(r)
            return r.id

    def add_conversation_parts(self, conversation_id, n: int = 1, at: int | None = None) -> list[str]:
        with self.lock:
            r = self._find(self.conversation_by_id, conversation_id, "conversation")
            if r.deleted:
                raise KeyError(f"conversation {conversation_id} is deleted")
            v = self._bump()
            t = int(at if at is not None else self.now())
            rng = random.Random(f"{self.seed}:parts:{r.id}:{len(r.parts)}")
            new = [self._new_part(rng, t, v) for _ in range(n)]
            r.parts.extend(new)
            r.updated_at = max(r.updated_at, t)
            r.version = v
            return [str(p.id) for p in new]

    def update_conversation(self, conversation_id, updated_at: int | None = None) -> str:
        with self.lock:
            r = self._find(self.conversation_by_id, conversation_id, "conversation")
            r.version = self._bump()
            r.updated_at = int(updated_at if updated_at is not None else self.now())
            r.rev += 1
            return r.id

    def set_tags(self, kind: str, record_id, tag_ids: list[str], updated_at: int | None = None) -> str:
        """Tag a company or conversation (``kind``) with exactly ``tag_ids`` (one version step):
        tagging and untagging update it, as in Intercom."""
        with self.lock:
            table = {"company": self.company_by_id, "conversation": self.conversation_by_id}[kind]
            r = self._find(table, record_id, kind)
            by_id = {t.id: i for i, t in enumerate(self.tags)}
            r.tag_indexes = tuple(sorted(by_id[t] for t in tag_ids))
            r.version = self._bump()
            r.updated_at = int(updated_at if updated_at is not None else self.now())
            r.rev += 1
            return r.id

    def _maybe_retag(self, r, version: int) -> None:
        """A third of the records a mutation touches get other tags, from a generator of their own
        (the mutation's other draws stay as they were)."""
        rng = random.Random(f"{self.seed}:retag:{version}:{r.id}")
        if self.tags and rng.random() < 0.3:
            r.tag_indexes = self._sample_indexes(rng, len(self.tags), min(len(self.tags), rng.randint(0, 3)))

    def delete_conversation(self, conversation_id, deleted_at: int | None = None) -> str:
        """Delete a conversation (one version step): it leaves searches and GET answers 404, and
        GET /conversations/deleted lists it with ``deleted_at`` (now unless given)."""
        with self.lock:
            r = self._find(self.conversation_by_id, conversation_id, "conversation")
            if r.deleted:
                raise KeyError(f"conversation {conversation_id} is already deleted")
            self._mark_deleted(r, self._bump(), int(deleted_at if deleted_at is not None else self.now()))
            return r.id

    def delete_random_conversations(self, rng: random.Random, count: int) -> list[str]:
        """Delete ``count`` random live conversations (or all there are), as one version step."""
        with self.lock:
            live = [r for r in self.conversations if not r.deleted]
            chosen = rng.sample(live, min(count, len(live)))
            v, now = self._bump(), self.now()
            for r in chosen:
                self._mark_deleted(r, v, now)
            return [r.id for r in chosen]

    def _mark_deleted(self, r: Conversation, version: int, deleted_at: int) -> None:
        r.deleted_at, r.version = deleted_at, version
        r.metrics_retained = random.Random(f"{self.seed}:metrics-retained:{r.id}").random() < 0.5

    def add_activity_log(self, created_at: int | None = None) -> str:
        with self.lock:
            v = self._bump()
            c = int(created_at if created_at is not None else self.now())
            rng = random.Random(f"{self.seed}:new-log:{len(self.activity_logs)}")
            r = self._new_activity_log(rng, len(self.activity_logs), c, v)
            self.activity_logs.append(r)
            return r.id

    def add_ticket_parts(self, ticket_id, n: int = 1, at: int | None = None) -> list[str]:
        """New parts on a ticket (one version step); its updated_at moves to theirs if later."""
        with self.lock:
            r = self._find(self.ticket_by_id, ticket_id, "ticket")
            v = self._bump()
            t = int(at if at is not None else self.now())
            rng = random.Random(f"{self.seed}:ticket-parts:{r.id}:{len(r.parts)}")
            new = [self._new_part(rng, t, v) for _ in range(n)]
            r.parts.extend(new)
            r.updated_at = max(r.updated_at, t)
            r.version = v
            return [str(p.id) for p in new]

    def update_ticket(self, ticket_id, updated_at: int | None = None) -> str:
        with self.lock:
            r = self._find(self.ticket_by_id, ticket_id, "ticket")
            r.version = self._bump()
            r.updated_at = int(updated_at if updated_at is not None else self.now())
            r.rev += 1
            return r.id

    def update_article(self, article_id, updated_at: int | None = None) -> str:
        return self._update_content(self.article_by_id, article_id, "article", updated_at)

    def update_collection(self, collection_id, updated_at: int | None = None) -> str:
        return self._update_content(self.collection_by_id, collection_id, "collection", updated_at)

    def update_news_item(self, news_item_id, updated_at: int | None = None) -> str:
        return self._update_content(self.news_item_by_id, news_item_id, "news item", updated_at)

    def _update_content(self, table: dict, id_, what: str, updated_at: int | None) -> str:
        with self.lock:
            r = self._find(table, id_, what)
            r.version = self._bump()
            r.updated_at = int(updated_at if updated_at is not None else self.now())
            r.created_at = min(r.created_at, r.updated_at)
            r.rev += 1
            return r.id

    def add_article(self, updated_at: int | None = None) -> str:
        with self.lock:
            v = self._bump()
            u = int(updated_at if updated_at is not None else self.now())
            rng = random.Random(f"{self.seed}:new-article:{len(self.articles)}")
            r = self._new_article(rng, len(self.articles), u, u, v)
            self._append(self.articles, self.article_by_id, r)
            return r.id

    @staticmethod
    def _append(records: list, by_id: dict, r) -> None:
        records.append(r)
        by_id[r.id] = r

    def _append_contact(self, r: Contact) -> None:
        self.contacts.append(r)
        self.contact_by_id[r.id] = r

    def _append_company(self, r: Company) -> None:
        self.companies.append(r)
        self.company_by_id[r.id] = r

    def _append_conversation(self, r: Conversation) -> None:
        self.conversations.append(r)
        self.conversation_by_id[r.id] = r

    def mutate_random(self, rng: random.Random, fraction: float = 0.1) -> dict[str, int]:
        """Change a random subset of every incremental stream, as one mutation (one version step).
        Returns how many records of each stream it created or changed."""
        with self.lock:
            v = self._bump()
            now = self.now()

            def pick(seq: list) -> list:
                if not seq or fraction <= 0:
                    return []
                return rng.sample(seq, min(len(seq), max(1, int(round(fraction * len(seq))))))

            def n_new(n: int) -> int:
                return max(1, int(round(fraction * n * 0.25))) if fraction > 0 else 0

            def n_deleted(n: int) -> int:
                return max(1, int(round(fraction * n / 10))) if fraction > 0 else 0

            def touch(r) -> None:
                r.rev, r.version, r.updated_at = r.rev + 1, v, now

            summary = {}
            for r in pick(self.contacts):
                r.updated_at, r.searchable_at, r.rev, r.version = now, self._index_delay_from_now(), r.rev + 1, v
                if rng.random() < 0.3:
                    r.tag_indexes = self._contact_tag_indexes(rng)
                if rng.random() < 0.15:
                    r.company_indexes = self._contact_company_indexes(rng, r.idx)
            for _ in range(n_new(len(self.contacts))):
                r = self._new_contact(rng, len(self.contacts), now, now, v)
                r.searchable_at = self._index_delay_from_now()
                self._append_contact(r)
            summary["contacts"] = sum(1 for r in self.contacts if r.version == v)

            for r in pick(self.companies):
                touch(r)
                if self.segments and rng.random() < 0.3:
                    r.segment_indexes = self._company_segment_indexes(rng)
                self._maybe_retag(r, v)
            for _ in range(n_new(len(self.companies))):
                self._append_company(self._new_company(rng, len(self.companies), now, now, v))
            summary["companies"] = sum(1 for r in self.companies if r.version == v)

            live = [r for r in self.conversations if not r.deleted]
            new_parts = 0
            for r in pick(live):
                touch(r)
                self._maybe_retag(r, v)
                if rng.random() < 0.7:
                    n = rng.randint(1, 3)
                    r.parts.extend(self._new_part(rng, now, v) for _ in range(n))
                    new_parts += n
            for _ in range(n_new(len(live))):
                r = self._new_conversation(rng, len(self.conversations), now, 0, now, v)
                r.parts = [self._new_part(rng, now, v) for _ in range(rng.randint(1, 3))]
                new_parts += len(r.parts)
                self._append_conversation(r)
            summary["conversations"] = sum(1 for r in self.conversations if r.version == v)
            summary["conversation_parts"] = new_parts
            untouched = [r for r in self.conversations if not r.deleted and r.version != v]
            doomed = rng.sample(untouched, min(len(untouched), n_deleted(len(live))))
            for r in doomed:
                self._mark_deleted(r, v, now)
            summary["deleted_conversations"] = len(doomed)

            new_ticket_parts = 0
            for r in pick(self.tickets):
                touch(r)
                if rng.random() < 0.7:
                    n = rng.randint(1, 3)
                    r.parts.extend(self._new_part(rng, now, v) for _ in range(n))
                    new_ticket_parts += n
            summary["tickets"] = sum(1 for r in self.tickets if r.version == v)
            summary["ticket_parts"] = new_ticket_parts
            for r in pick(self.segments):
                touch(r)
            summary["segments"] = sum(1 for r in self.segments if r.version == v)

            k = n_new(len(self.activity_logs) * 4)
            for _ in range(k):
                self.activity_logs.append(self._new_activity_log(rng, len(self.activity_logs), now, v))
            summary["activity_logs"] = k

            for stream, records, by_id, new in (
                    ("help_center_collections", self.collections, self.collection_by_id, self._new_collection),
                    ("articles", self.articles, self.article_by_id, self._new_article),
                    ("news_items", self.news_items, self.news_item_by_id, self._new_news_item),
                    ("calls", self.calls, self.call_by_id, self._new_call)):
                for r in pick(records):
                    touch(r)
                for _ in range(n_new(len(records))):
                    self._append(records, by_id, new(rng, len(records), now, now, v))
                summary[stream] = sum(1 for r in records if r.version == v)
            return summary

    # ----------------------------------------------------------------------- ground truth
    def expected_ids(self, stream: str, start_date: int | None = None) -> set:
        """Primary keys a complete sync of ``stream`` must emit (start_date inclusive)."""
        sd = start_date if start_date is not None else NEVER
        with self.lock:
            match stream:
                case "admins" | "teams" | "tags":
                    return {r.id for r in getattr(self, stream)}
                case "team_admins":
                    return {(r.id, str(admin_id)) for r in self.teams for admin_id in r.admin_ids}
                case "ticket_states":
                    return {r.id for r in self.ticket_states}
                case "calls":
                    return {r.id for r in self.calls if r.updated_at >= sd}
                case "company_attributes" | "contact_attributes" | "conversation_attributes":
                    # archived ones included: what GET /data_attributes?include_archived=true lists
                    return {a["full_name"] for a in self.data_attributes[stream.removesuffix("_attributes")]}
                case "ticket_types":
                    return {t.id for t in self.ticket_types}
                case "segments" | "companies" | "contacts" | "tickets":
                    return {r.id for r in getattr(self, stream) if r.updated_at >= sd}
                case "company_segments":
                    return {(r.id, self.segments[s].id) for r in self.companies if r.updated_at >= sd
                            for s in r.segment_indexes}
                case "contact_tags" | "contact_companies":
                    return self._contact_pairs(stream, (r for r in self.contacts if r.updated_at >= sd))
                case _ if stream in EMBEDDED_LIST_STREAMS:
                    return self._embedded_pairs(stream, lambda r: r.updated_at >= sd)
                case "conversations":
                    return {r.id for r in self.conversations if not r.deleted and r.updated_at >= sd}
                case "conversation_parts":
                    return {str(p.id) for r in self.conversations if not r.deleted and r.updated_at >= sd
                            for p in r.parts[-PART_CAP:]}
                case "deleted_conversations":
                    return {r.id for r in self.conversations if r.deleted and r.deleted_at >= sd}
                case "ticket_parts":
                    return {str(p.id) for r in self.tickets if r.updated_at >= sd for p in r.parts[-PART_CAP:]}
                case "activity_logs":
                    return {r.id for r in self.activity_logs if r.created_at >= sd}
                case "articles" | "help_center_collections" | "news_items":
                    return {r.id for r in self._content(stream) if r.updated_at >= sd}
                case "help_centers" | "newsfeeds" | "subscription_types":
                    return {r.id for r in getattr(self, stream)}
            raise KeyError(f"unknown stream {stream!r}")

    def changed_ids(self, stream: str, since_version: int) -> set:
        """Keys of records created/changed in a mutation with version > since_version."""
        sv = since_version
        with self.lock:
            match stream:
                case _ if stream in FULL_STREAMS:
                    return set()
                case "segments" | "companies" | "contacts" | "activity_logs" | "tickets":
                    return {r.id for r in getattr(self, stream) if r.version > sv}
                case "company_segments":
                    return {(r.id, self.segments[s].id) for r in self.companies if r.version > sv
                            for s in r.segment_indexes}
                case "contact_tags" | "contact_companies":
                    return self._contact_pairs(stream, (r for r in self.contacts if r.version > sv))
                case _ if stream in EMBEDDED_LIST_STREAMS:
                    return self._embedded_pairs(stream, lambda r: r.version > sv)
                case "conversations":
                    return {r.id for r in self.conversations if not r.deleted and r.version > sv}
                case "conversation_parts":
                    return {str(p.id) for r in self.conversations if not r.deleted
                            for p in r.parts[-PART_CAP:] if p.version > sv}
                case "deleted_conversations":
                    return {r.id for r in self.conversations if r.deleted and r.version > sv}
                case "ticket_parts":
                    return {str(p.id) for r in self.tickets for p in r.parts[-PART_CAP:] if p.version > sv}
                case "articles" | "help_center_collections" | "news_items":
                    return {r.id for r in self._content(stream) if r.version > sv}
                case "calls":
                    return {r.id for r in self.calls if r.version > sv}
            raise KeyError(f"unknown stream {stream!r}")

    def _content(self, stream: str) -> list:
        return {"articles": self.articles, "help_center_collections": self.collections,
                "news_items": self.news_items}[stream]

    def _contact_pairs(self, stream: str, contacts) -> set[tuple[str, str]]:
        if stream == "contact_tags":
            return {(r.id, self.tags[t].id) for r in contacts for t in r.tag_indexes}
        return {(r.id, self.companies[c].id) for r in contacts for c in r.company_indexes}

    def _embedded_pairs(self, stream: str, chosen: Callable[[object], bool]) -> set[tuple[str, str]]:
        """(parent id, item id) of every item of the embedded list ``stream`` is made of, of the
        parents ``chosen`` keeps (deleted conversations are in no search)."""
        parent, items = {
            "company_tags": (self.companies, lambda r: [self.tags[t].id for t in r.tag_indexes]),
            "conversation_tags": (self.conversations, lambda r: [self.tags[t].id for t in r.tag_indexes]),
            "conversation_contacts": (self.conversations,
                                      lambda r: [self.contacts[c].id for c in self.conversation_contact_indexes(r)]),
            "conversation_teammates": (self.conversations,
                                       lambda r: [self.admins[a].id for a in self.conversation_teammate_indexes(r)]),
            "ticket_contacts": (self.tickets, lambda r: [self.contacts[r.contact_index].id] if r.contact_index >= 0 else []),
        }[stream]
        return {(r.id, item) for r in parent if not r.deleted and chosen(r) for item in items(r)}

    def ground_truth(self, start_date: int | None = None) -> dict[str, list]:
        """Every stream's expected keys, sorted (``PAIR_STREAMS`` as [parent id, child id] pairs)."""
        out = {}
        for s in ALL_STREAMS:
            ids = self.expected_ids(s, start_date)
            out[s] = sorted([list(x) for x in ids]) if s in PAIR_STREAMS else sorted(ids, key=id_sort_key)
        return out

    # ------------------------------------------------------------------ relationship lists
    def conversation_contact_indexes(self, r: Conversation) -> list[int]:
        """The contacts of a conversation: its customer, and in every 10th conversation one or two
        more (a group conversation), drawn from a generator of its own among the contacts the
        workspace was generated with (so they stay as they are while contacts are added)."""
        if not 0 <= r.contact_index < len(self.contacts):
            return []
        found = [r.contact_index]
        if r.idx % GROUP_CONVERSATION_EVERY == 4:
            rng = random.Random(f"{self.seed}:group-conversation:{r.id}")
            population = min(self.sizes.contacts, len(self.contacts))
            found += [c for c in rng.sample(range(population), min(population, 2))[:rng.randint(1, 2)] if c != r.contact_index]
        return found

    def conversation_teammate_indexes(self, r: Conversation) -> list[int]:
        """The teammates of a conversation: the admins who wrote at least one of its parts, in the
        order of their first part."""
        if not self.admins:
            return []
        return list(dict.fromkeys(p.admin_index % len(self.admins) for p in r.parts if p.admin_index >= 0))

    def contact_tag_ids(self, contact_id) -> list[str]:
        """Every tag of a contact (its record embeds only the first 10)."""
        with self.lock:
            r = self._find(self.contact_by_id, contact_id, "contact")
            return [self.tags[t].id for t in r.tag_indexes]

    def contact_company_ids(self, contact_id) -> list[str]:
        """Every company of a contact (its record embeds only the first 10)."""
        with self.lock:
            r = self._find(self.contact_by_id, contact_id, "contact")
            return [self.companies[c].id for c in r.company_indexes]

    def contact_note_ids(self, contact_id) -> list[str]:
        """Every note of a contact, oldest first (its record embeds only the first 10)."""
        with self.lock:
            r = self._find(self.contact_by_id, contact_id, "contact")
            return [note_id(r, k) for k in range(r.note_count)]
