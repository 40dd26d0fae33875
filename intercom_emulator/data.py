"""Deterministic Intercom workspace: generation, mutation, rendering and ground truth.

Records are stored compactly (one ``_Rec`` with ``__slots__`` per record; conversation
parts as small tuples) and rendered to Intercom-shaped JSON dicts on demand.  Content
that is not needed for filtering/ordering (names, emails, bodies, custom attributes ...)
is derived from ``(seed, stream, index, revision)`` at render time, so a workspace of
100k contacts is generated in a second or two.

All public methods take ``self.lock`` (an RLock); the HTTP server takes the same lock
around every read of workspace state.
"""
from __future__ import annotations

import hashlib
import random
import threading
import time
from dataclasses import dataclass

PART_CAP = 500          # Intercom returns only the 500 most recent conversation parts
DAY = 86400

FIRST_NAMES = ["Ada", "Grace", "Alan", "Linus", "Barbara", "Ken", "Margaret", "Dennis", "Frances",
               "John", "Radia", "Edsger", "Hedy", "Donald", "Katherine", "Tim", "Joan", "Guido",
               "Sophie", "Niklaus", "Anita", "Bjarne", "Shafi", "Leslie"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Torvalds", "Liskov", "Thompson", "Hamilton", "Ritchie",
              "Allen", "McCarthy", "Perlman", "Dijkstra", "Lamarr", "Knuth", "Johnson", "Berners-Lee",
              "Clarke", "van Rossum", "Wilson", "Wirth", "Borg", "Stroustrup", "Goldwasser", "Lamport"]
DOMAINS = ["example.com", "acme.io", "initech.com", "globex.net", "umbrella.org", "hooli.xyz",
           "stark.dev", "wayne.co", "tyrell.ai", "cyberdyne.systems"]
INDUSTRIES = ["Software", "Retail", "Finance", "Healthcare", "Education", "Manufacturing", "Media", None]
PLANS = ["free", "starter", "pro", "enterprise"]
COMPANY_WORDS = ["Blue", "Sun", "Red", "Moon", "Iron", "Cloud", "Quantum", "Pixel", "Nimbus", "Delta",
                 "Vector", "Atlas", "Orbit", "Lumen", "Nova", "Cobalt"]
CITIES = [("Ireland", "Dublin", "Dublin"), ("United States", "California", "San Francisco"),
          ("United Kingdom", "England", "London"), ("Germany", "Berlin", "Berlin"),
          ("France", "Ile-de-France", "Paris"), ("Australia", "New South Wales", "Sydney"),
          ("Japan", "Tokyo", "Tokyo"), ("Brazil", "Sao Paulo", "Sao Paulo")]
BROWSERS = ["chrome", "firefox", "safari", "edge"]
OSES = ["Mac OS X", "Windows 10", "Linux", "iOS", "Android"]
WORDS = ["hello", "invoice", "login", "error", "thanks", "upgrade", "billing", "refund", "export",
         "password", "integration", "webhook", "please", "help", "account", "plan", "broken", "great"]
PART_TYPES = ["comment", "note", "comment", "assignment", "comment", "close", "open", "comment"]
ACTIVITY_TYPES = ["admin_login_success", "admin_logout", "admin_away_mode_change", "app_name_change",
                  "admin_permission_change", "conversation_topic_change", "message_state_change",
                  "admin_assignment_limit_change", "app_webhook_creation", "campaign_state_change"]
TICKET_STATES = ["submitted", "in_progress", "waiting_on_customer", "resolved"]
CONV_STATES = ["open", "closed", "snoozed", "closed"]
TICKET_CATEGORIES = ["Customer", "Back-office", "Tracker"]

CONTACT_CUSTOM_ATTRS = [("paid_subscriber", "boolean"), ("monthly_spend", "float"), ("team_mates", "integer"),
                        ("favourite_color", "string"), ("trial_ends_at", "date"), ("referral_code", "string"),
                        ("nps_score", "integer"), ("beta_tester", "boolean")]
COMPANY_CUSTOM_ATTRS = [("account_tier", "string"), ("seats", "integer"), ("arr", "float"),
                        ("churn_risk", "boolean"), ("renewal_at", "date"), ("csm", "string")]
CONVERSATION_CUSTOM_ATTRS = [("issue_type", "string"), ("escalated", "boolean"), ("order_number", "integer")]

CONTACT_BUILTIN_ATTRS = [
    ("id", "string"), ("external_id", "string"), ("email", "string"), ("phone", "string"), ("name", "string"),
    ("role", "string"), ("owner_id", "integer"), ("created_at", "date"), ("updated_at", "date"),
    ("signed_up_at", "date"), ("last_seen_at", "date"), ("last_contacted_at", "date"),
    ("last_replied_at", "date"), ("last_email_opened_at", "date"), ("last_email_clicked_at", "date"),
    ("unsubscribed_from_emails", "boolean"), ("browser", "string"), ("os", "string"),
    ("location.country", "string"), ("location.city", "string"), ("companies.name", "string"),
    ("tags.name", "string"),
]
COMPANY_BUILTIN_ATTRS = [
    ("company_id", "string"), ("name", "string"), ("created_at", "date"), ("updated_at", "date"),
    ("remote_created_at", "date"), ("last_request_at", "date"), ("plan.name", "string"), ("size", "integer"),
    ("website", "string"), ("industry", "string"), ("monthly_spend", "float"), ("session_count", "integer"),
    ("user_count", "integer"),
]
CONVERSATION_BUILTIN_ATTRS = [
    ("id", "string"), ("created_at", "date"), ("updated_at", "date"), ("state", "string"),
    ("priority", "string"), ("admin_assignee_id", "integer"), ("team_assignee_id", "string"),
    ("source.type", "string"), ("source.subject", "string"), ("statistics.time_to_admin_reply", "integer"),
]

INCREMENTAL_STREAMS = ("companies", "company_segments", "contacts", "conversations", "conversation_parts",
                       "activity_logs", "tickets", "segments")
FULL_STREAMS = ("admins", "teams", "tags", "company_attributes", "contact_attributes")
ALL_STREAMS = FULL_STREAMS + INCREMENTAL_STREAMS


@dataclass
class WorkspaceSizes:
    admins: int = 5
    teams: int = 3
    tags: int = 12
    segments: int = 6
    companies: int = 120
    company_segments_per_company: int = 2
    contacts: int = 400
    conversations: int = 150
    parts_per_conversation: int = 8
    activity_logs: int = 300
    tickets: int = 60
    conversations_over_part_cap: int = 1   # conversations with more than PART_CAP parts
    parts_over_part_cap: int = 620        # parts in each of those conversations
    ticket_parts_per_ticket: int = 3
    ticket_types: int = 3


PRESETS = {
    "small": WorkspaceSizes(),
    "demo": WorkspaceSizes(admins=6, teams=3, tags=15, segments=8, companies=300, contacts=500,
                           conversations=300, parts_per_conversation=6, activity_logs=400, tickets=200),
    "benchmark": WorkspaceSizes(admins=20, teams=6, tags=40, segments=12, companies=2000, contacts=20000,
                                conversations=5000, parts_per_conversation=8, activity_logs=2000,
                                tickets=500, conversations_over_part_cap=2),
}


class _Rec:
    """Compact mutable record. ``a``/``b``/``c`` hold stream-specific relations."""
    __slots__ = ("idx", "id", "created_at", "updated_at", "searchable_at", "version", "rev",
                 "a", "b", "c", "deleted", "parts")

    def __init__(self, idx, id_, created_at, updated_at, version=0):
        self.idx = idx
        self.id = id_
        self.created_at = created_at
        self.updated_at = updated_at
        self.searchable_at = updated_at
        self.version = version
        self.rev = 0
        self.a = None
        self.b = None
        self.c = None
        self.deleted = False
        self.parts = None


def id_sort_key(id_: str):
    """Ids sort numerically when numeric-looking strings, lexicographically within equal length."""
    return (len(id_), id_)


def _hex24(seed, kind, idx) -> str:
    return hashlib.md5(f"{seed}:{kind}:{idx}".encode()).hexdigest()[:24]


class Workspace:
    def __init__(self, seed: int = 1, sizes: WorkspaceSizes | None = None, span_days: int = 120,
                 contacts_index_delay: float = 0.0, timezone_offset_hours: float = 0,
                 anchor_time: int | None = None):
        self.seed = seed
        self.sizes = sizes or WorkspaceSizes()
        self.span_days = span_days
        self.contacts_index_delay = float(contacts_index_delay)
        self.timezone_offset_hours = timezone_offset_hours
        self.lock = threading.RLock()
        self.version = 0
        # anchor: "now" at generation time; generated timestamps lie in [anchor-span, anchor-1h]
        self.anchor = int(anchor_time if anchor_time is not None else time.time())
        self.app_id = _hex24(seed, "app", 0)[:8]
        self.app_created_at = self.anchor - (span_days + 30) * DAY
        self._scroll = None            # scroll state, managed by the server (one per workspace)
        self._next_part_id = 10_000_000
        self._generate()

    # ------------------------------------------------------------------ time
    def now(self) -> int:
        return int(time.time())

    def day_of(self, ts: float) -> int:
        """Calendar day number of a unix time in the workspace time zone."""
        return int((ts + self.timezone_offset_hours * 3600) // DAY)

    # ------------------------------------------------------------ generation
    def _generate(self):
        s = self.sizes
        rng = random.Random(self.seed)
        t_end = self.anchor - 3600
        t_start = self.anchor - self.span_days * DAY
        self._t_start, self._t_end = t_start, t_end

        def span(lo=t_start):
            c = rng.randint(lo, t_end)
            u = rng.randint(c, t_end) if rng.random() < 0.7 else c
            return c, u

        # admins / teams / tags (static)
        self.admins = []
        for i in range(s.admins):
            first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i * 7 + self.seed) % len(LAST_NAMES)]
            self.admins.append({"id": str(990000 + i * 17), "name": f"{first} {last}",
                                "email": f"{first.lower()}.{last.lower().replace(' ', '')}@{self.app_id}.admins.example",
                                "job_title": rng.choice(["Support", "Success", "Engineer", "Founder", "Sales"]),
                                "away_mode_enabled": rng.random() < 0.2, "away_mode_reassign": False,
                                "has_inbox_seat": rng.random() < 0.9, "team_ids": []})
        self.teams = []
        for i in range(s.teams):
            members = sorted({rng.randrange(max(1, s.admins)) for _ in range(max(1, s.admins // 2))}) if s.admins else []
            t = {"type": "team", "id": str(814000 + i * 3), "name": f"Team {COMPANY_WORDS[i % len(COMPANY_WORDS)]}",
                 "admin_ids": [int(self.admins[m]["id"]) for m in members]}
            for m in members:
                self.admins[m]["team_ids"].append(int(t["id"]))
            self.teams.append(t)
        self.tags = [{"type": "tag", "id": str(170000 + i * 11), "name": f"tag-{WORDS[i % len(WORDS)]}-{i}"}
                     for i in range(s.tags)]
        self.ticket_types = [{"type": "ticket_type", "id": str(30 + i), "category": TICKET_CATEGORIES[i % 3],
                              "name": ["Bug", "Feature request", "Question", "Incident", "Billing"][i % 5],
                              "description": "Generated ticket type", "icon": "🎟", "workspace_id": self.app_id,
                              "archived": False, "created_at": self.app_created_at + i * 1000,
                              "updated_at": self.app_created_at + i * 1000}
                             for i in range(max(1, s.ticket_types))]

        # data attributes (custom ones get integer ids)
        self.data_attributes = {"contact": [], "company": [], "conversation": []}
        attr_id = 12000
        for model, builtins, customs in (("contact", CONTACT_BUILTIN_ATTRS, CONTACT_CUSTOM_ATTRS),
                                         ("company", COMPANY_BUILTIN_ATTRS, COMPANY_CUSTOM_ATTRS),
                                         ("conversation", CONVERSATION_BUILTIN_ATTRS, CONVERSATION_CUSTOM_ATTRS)):
            for name, dt in builtins:
                self.data_attributes[model].append({
                    "type": "data_attribute", "name": name.split(".")[-1], "full_name": name,
                    "label": name.replace("_", " ").replace(".", " ").title(),
                    "description": f"Built-in {model} attribute {name}", "data_type": dt, "model": model,
                    "api_writable": False, "ui_writable": False, "messenger_writable": False,
                    "custom": False, "archived": False})
            for name, dt in customs:
                attr_id += 1
                self.data_attributes[model].append({
                    "type": "data_attribute", "id": attr_id, "model": model, "name": name,
                    "full_name": f"custom_attributes.{name}", "label": name.replace("_", " ").title(),
                    "description": f"Custom {model} attribute", "data_type": dt,
                    "options": ["true", "false"] if dt == "boolean" else None,
                    "api_writable": True, "ui_writable": True, "messenger_writable": False,
                    "custom": True, "archived": False, "created_at": self.app_created_at + attr_id,
                    "updated_at": self.app_created_at + attr_id,
                    "admin_id": self.admins[0]["id"] if self.admins else None})

        # segments
        self.segments = []
        for i in range(s.segments):
            c, u = span(self.app_created_at)
            r = _Rec(i, _hex24(self.seed, "segment", i), c, u)
            r.a = "contact" if i % 3 else "user"
            r.b = rng.randint(0, max(1, s.contacts))   # member count
            self.segments.append(r)

        # companies
        self.companies = []
        for i in range(s.companies):
            self.companies.append(self._new_company(rng, i, *span()))
        self.company_by_id = {r.id: r for r in self.companies}

        # contacts
        self.contacts = []
        for i in range(s.contacts):
            self.contacts.append(self._new_contact(rng, i, *span()))
        self.contact_by_id = {r.id: r for r in self.contacts}

        # conversations (+ parts)
        self.conversations = []
        for i in range(s.conversations):
            big = i < s.conversations_over_part_cap
            n_parts = s.parts_over_part_cap if big else s.parts_per_conversation
            c = rng.randint(t_start, t_end - 3600)
            self.conversations.append(self._new_conversation(rng, i, c, n_parts, t_end))
        self.conversation_by_id = {r.id: r for r in self.conversations}

        # activity logs
        self.activity_logs = []
        for i in range(s.activity_logs):
            self.activity_logs.append(self._new_activity_log(rng, i, rng.randint(t_start, t_end)))

        # tickets
        self.tickets = []
        for i in range(s.tickets):
            c, u = span()
            self.tickets.append(self._new_ticket(rng, i, c, u))
        self.ticket_by_id = {r.id: r for r in self.tickets}

    def _new_company(self, rng, i, c, u, version=0):
        r = _Rec(i, _hex24(self.seed, "company", i), c, u, version)
        k = min(self.sizes.company_segments_per_company, len(self.segments))
        r.a = tuple(sorted(rng.sample(range(len(self.segments)), k))) if k else ()
        r.b = tuple(sorted(rng.sample(range(len(self.tags)), min(len(self.tags), rng.randint(0, 3)))))
        return r

    def _new_contact(self, rng, i, c, u, version=0):
        r = _Rec(i, _hex24(self.seed, "contact", i), c, u, version)
        nc = len(self.companies)
        if nc and rng.random() < 0.8:
            r.a = tuple(sorted({rng.randrange(nc) for _ in range(rng.randint(1, 2))}))
        else:
            r.a = ()
        nt = len(self.tags)
        # a few contacts carry more than 10 tags so that has_more is exercised
        ntag = rng.choice((0, 0, 1, 2, 3)) if rng.random() > 0.02 else min(nt, 11 + rng.randint(0, 3))
        r.b = tuple(sorted(rng.sample(range(nt), min(nt, ntag)))) if nt else ()
        r.c = rng.choice((0, 0, 0, 1, 2, 12))  # notes count
        return r

    def _part_tuple(self, rng, created_at, version, n_contacts_hint=1):
        pid = self._next_part_id
        self._next_part_id += 1
        kind = rng.randrange(len(PART_TYPES))
        author = rng.randrange(max(1, len(self.admins))) if rng.random() < 0.55 else -1
        # (id, created_at, updated_at, version, kind, author, salt)
        return (pid, created_at, created_at, version, kind, author, rng.randrange(1 << 30))

    def _new_conversation(self, rng, i, c, n_parts, t_end, version=0):
        r = _Rec(i, str(10_000 + i), c, c, version)
        r.a = rng.randrange(len(self.contacts)) if self.contacts else -1
        r.b = rng.randrange(len(self.admins)) if self.admins and rng.random() < 0.8 else -1
        r.c = tuple(sorted(rng.sample(range(len(self.tags)), min(len(self.tags), rng.randint(0, 2)))))
        times = sorted(rng.randint(c, max(c, t_end)) for _ in range(n_parts))
        r.parts = [self._part_tuple(rng, t, version) for t in times]
        r.updated_at = times[-1] if times else c
        return r

    def _new_activity_log(self, rng, i, created_at, version=0):
        r = _Rec(i, str(5_000_000 + i), created_at, created_at, version)
        r.a = rng.randrange(max(1, len(self.admins)))
        r.b = rng.randrange(len(ACTIVITY_TYPES))
        return r

    def _new_ticket(self, rng, i, c, u, version=0):
        r = _Rec(i, str(70_000 + i), c, u, version)
        r.a = rng.randrange(len(self.contacts)) if self.contacts else -1
        r.b = rng.randrange(len(self.ticket_types))
        n = max(1, self.sizes.ticket_parts_per_ticket)
        times = sorted([c] + [rng.randint(c, u) for _ in range(n - 1)])
        r.parts = [self._part_tuple(rng, t, version) for t in times]
        return r

    # ------------------------------------------------------------- rendering
    def _rng(self, kind, rec):
        return random.Random(f"{self.seed}:{kind}:{rec.idx}:{rec.rev}")

    def admin_ref(self, i):
        a = self.admins[i]
        return {"type": "admin", "id": a["id"], "name": a["name"], "email": a["email"]}

    def render_admin(self, a, with_app=False):
        d = {"type": "admin", **a, "team_ids": list(a["team_ids"]),
             "avatar": {"type": "avatar", "image_url": None}}
        if with_app:
            d["email_verified"] = True
            d["app"] = self.render_app()
        return d

    def render_app(self):
        off = self.timezone_offset_hours
        tz = "UTC" if off == 0 else f"Etc/GMT{'-' if off > 0 else '+'}{abs(int(off))}"
        return {"type": "app", "id_code": self.app_id, "name": f"Emulated workspace {self.seed}",
                "region": "US", "timezone": tz, "created_at": self.app_created_at,
                "identity_verification": False}

    def render_tag(self, i, applied_at=None):
        t = dict(self.tags[i])
        if applied_at is not None:
            t["applied_at"] = applied_at
            t["applied_by"] = {"type": "admin", "id": self.admins[0]["id"]} if self.admins else None
        return t

    def render_segment(self, r, include_count=False):
        d = {"type": "segment", "id": r.id, "name": f"Segment {COMPANY_WORDS[r.idx % len(COMPANY_WORDS)]} {r.idx}"
             + ("" if r.rev == 0 else f" v{r.rev}"), "created_at": r.created_at, "updated_at": r.updated_at,
             "person_type": r.a}
        if include_count:
            d["count"] = r.b
        return d

    def _custom(self, rng, defs, base_ts):
        out = {}
        for name, dt in defs:
            if rng.random() < 0.15:
                out[name] = None
            elif dt == "boolean":
                out[name] = rng.random() < 0.5
            elif dt == "float":
                out[name] = round(rng.uniform(0, 5000), 2)
            elif dt == "integer":
                out[name] = rng.randint(0, 100)
            elif dt == "date":
                out[name] = base_ts + rng.randint(0, 90) * DAY
            else:
                out[name] = rng.choice(WORDS) + "-" + str(rng.randint(1, 999))
        return out

    def render_company(self, r):
        rng = self._rng("company", r)
        name = f"{COMPANY_WORDS[r.idx % 16]} {COMPANY_WORDS[(r.idx // 16) % 16]} {r.idx}"
        plan_i = rng.randrange(len(PLANS))
        return {
            "type": "company", "id": r.id, "name": name, "app_id": self.app_id,
            "plan": {"type": "plan", "id": str(400 + plan_i), "name": PLANS[plan_i]},
            "company_id": f"cmp-{self.seed}-{r.idx}", "remote_created_at": r.created_at,
            "created_at": r.created_at, "updated_at": r.updated_at,
            "last_request_at": r.updated_at - rng.randint(0, 3 * DAY) if rng.random() < 0.8 else None,
            "size": rng.choice([1, 5, 10, 50, 100, 500, 1000]),
            "website": f"https://www.{name.split()[0].lower()}{r.idx}.example",
            "industry": rng.choice(INDUSTRIES), "monthly_spend": rng.randint(0, 20000),
            "session_count": rng.randint(0, 5000), "user_count": rng.randint(0, 300),
            "custom_attributes": self._custom(rng, COMPANY_CUSTOM_ATTRS, r.created_at),
            "tags": {"type": "tag.list", "tags": [self.render_tag(t) for t in r.b]},
            "segments": {"type": "segment.list",
                         "segments": [self.render_segment(self.segments[s]) for s in r.a]},
        }

    def render_contact(self, r):
        rng = self._rng("contact", r)
        first, last = FIRST_NAMES[r.idx % 24], LAST_NAMES[(r.idx // 24 + self.seed) % 24]
        dom = DOMAINS[r.idx % len(DOMAINS)]
        email = f"{first.lower()}.{last.lower().replace(' ', '')}{r.idx}@{dom}"
        country, region, city = CITIES[r.idx % len(CITIES)]
        last_seen = r.updated_at - rng.randint(0, DAY) if rng.random() < 0.85 else None
        if last_seen is not None and last_seen < r.created_at:
            last_seen = r.created_at
        contacted = r.created_at + rng.randint(0, max(0, r.updated_at - r.created_at)) if rng.random() < 0.5 else None
        replied = contacted if contacted and rng.random() < 0.5 else None
        tags = [{"type": "tag", "id": self.tags[t]["id"], "url": f"/tags/{self.tags[t]['id']}"} for t in r.b]
        comps = [{"type": "company", "id": self.companies[ci].id, "url": f"/companies/{self.companies[ci].id}"}
                 for ci in r.a if ci < len(self.companies)]
        notes = [{"type": "note", "id": str(800000 + r.idx * 20 + k), "url": f"/notes/{800000 + r.idx * 20 + k}"}
                 for k in range(r.c)]
        owner = int(self.admins[r.idx % len(self.admins)]["id"]) if self.admins and r.idx % 3 == 0 else None

        def sub(items, kind):
            return {"type": "list", "data": items[:10], "url": f"/contacts/{r.id}/{kind}",
                    "total_count": len(items), "has_more": len(items) > 10}

        return {
            "type": "contact", "id": r.id, "workspace_id": self.app_id,
            "external_id": f"ext-{self.seed}-{r.idx}" if r.idx % 4 else None,
            "role": "lead" if r.idx % 5 == 4 else "user", "email": email, "email_domain": dom,
            "phone": f"+3531{r.idx:07d}" if r.idx % 3 == 1 else None,
            "formatted_phone": f"+3531{r.idx:07d}" if r.idx % 3 == 1 else None,
            "name": f"{first} {last}", "owner_id": owner,
            "has_hard_bounced": False, "marked_email_as_spam": False,
            "unsubscribed_from_emails": rng.random() < 0.1,
            "created_at": r.created_at, "updated_at": r.updated_at,
            "signed_up_at": r.created_at if r.idx % 5 != 4 else None,
            "last_seen_at": last_seen, "last_replied_at": replied, "last_contacted_at": contacted,
            "last_email_opened_at": contacted, "last_email_clicked_at": None,
            "language_override": None, "browser": rng.choice(BROWSERS),
            "browser_version": f"{rng.randint(90, 130)}.0", "browser_language": "en",
            "os": rng.choice(OSES), "android_app_name": None, "android_app_version": None,
            "android_device": None, "android_os_version": None, "android_sdk_version": None,
            "android_last_seen_at": None, "ios_app_name": None, "ios_app_version": None,
            "ios_device": None, "ios_os_version": None, "ios_sdk_version": None, "ios_last_seen_at": None,
            "custom_attributes": self._custom(rng, CONTACT_CUSTOM_ATTRS, r.created_at),
            "avatar": None,
            "tags": sub(tags, "tags"),
            "notes": sub(notes, "notes"),
            "companies": sub(comps, "companies"),
            "location": {"type": "location", "country": country, "region": region, "city": city,
                         "country_code": country[:3].upper(), "continent_code": None},
            "social_profiles": {"type": "list", "data": []},
            "opted_out_subscription_types": {"type": "list", "data": [], "url": f"/contacts/{r.id}/subscriptions",
                                             "total_count": 0, "has_more": False},
            "opted_in_subscription_types": {"type": "list", "data": [], "url": f"/contacts/{r.id}/subscriptions",
                                            "total_count": 0, "has_more": False},
            "utm_campaign": None, "utm_content": None, "utm_medium": None, "utm_source": None,
            "utm_term": None, "referrer": None, "sms_consent": False, "unsubscribed_from_sms": False,
        }

    def _contact_ref(self, ci):
        if 0 <= ci < len(self.contacts):
            c = self.contacts[ci]
            return {"type": "contact", "id": c.id, "external_id": f"ext-{self.seed}-{c.idx}" if c.idx % 4 else None}
        return None

    def _part_author(self, author, contact_idx):
        if author >= 0 and self.admins:
            return self.admin_ref(author % len(self.admins))
        c = self.contacts[contact_idx] if 0 <= contact_idx < len(self.contacts) else None
        if c is None:
            return {"type": "bot", "id": "0", "name": "Operator", "email": "operator+bot@intercom.io"}
        first, last = FIRST_NAMES[c.idx % 24], LAST_NAMES[(c.idx // 24 + self.seed) % 24]
        return {"type": "user", "id": c.id, "name": f"{first} {last}",
                "email": f"{first.lower()}.{last.lower().replace(' ', '')}{c.idx}@{DOMAINS[c.idx % len(DOMAINS)]}"}

    def render_part(self, p, contact_idx, kind="conversation_part"):
        pid, created, updated, _v, k, author, salt = p
        rng = random.Random(salt)
        part_type = PART_TYPES[k]
        body = None
        if part_type in ("comment", "note"):
            body = "<p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 12))) + "</p>"
        d = {"type": kind, "id": str(pid), "part_type": part_type, "body": body,
             "created_at": created, "updated_at": updated, "notified_at": created,
             "assigned_to": ({"type": "admin", "id": self.admins[author % len(self.admins)]["id"]}
                             if part_type == "assignment" and self.admins else None),
             "author": self._part_author(author, contact_idx),
             "attachments": ([{"type": "upload", "name": f"file{pid}.png", "url": f"https://files.example/{pid}.png",
                               "content_type": "image/png", "filesize": rng.randint(100, 99999),
                               "width": 64, "height": 64}] if rng.random() < 0.05 else []),
             "external_id": None, "redacted": False}
        if kind == "ticket_part":
            d.pop("notified_at")
            d["ticket_state"] = TICKET_STATES[salt % 4]
            d["previous_ticket_state"] = TICKET_STATES[(salt // 4) % 4]
        return d

    def render_conversation(self, r, with_parts=False):
        rng = self._rng("conversation", r)
        parts = r.parts
        state = CONV_STATES[(r.idx + r.rev) % 4]
        first_t = parts[0][1] if parts else r.created_at
        admin_id = int(self.admins[r.b]["id"]) if r.b >= 0 else None
        ca = self.contacts[r.a] if 0 <= r.a < len(self.contacts) else None
        d = {
            "type": "conversation", "id": r.id, "title": None if r.idx % 3 else f"Conversation {r.idx}",
            "created_at": r.created_at, "updated_at": r.updated_at,
            "waiting_since": r.updated_at if state == "open" else None,
            "snoozed_until": r.updated_at + DAY if state == "snoozed" else None,
            "open": state == "open", "state": state, "read": rng.random() < 0.7,
            "priority": "priority" if r.idx % 7 == 0 else "not_priority",
            "admin_assignee_id": admin_id,
            "team_assignee_id": self.teams[r.idx % len(self.teams)]["id"] if self.teams and r.idx % 2 else None,
            "tags": {"type": "tag.list", "tags": [self.render_tag(t, applied_at=r.created_at) for t in r.c]},
            "conversation_rating": None,
            "source": {"type": "conversation", "id": str(400_000_000 + r.idx), "delivered_as": "customer_initiated",
                       "subject": "", "body": "<p>" + " ".join(rng.choice(WORDS) for _ in range(6)) + "</p>",
                       "author": self._part_author(-1, r.a), "attachments": [], "url": None, "redacted": False},
            "contacts": {"type": "contact.list", "contacts": [self._contact_ref(r.a)] if ca else []},
            "teammates": {"type": "admin.list",
                          "teammates": [{"type": "admin", "id": str(admin_id)}] if admin_id is not None else []},
            "custom_attributes": self._custom(rng, CONVERSATION_CUSTOM_ATTRS, r.created_at),
            "first_contact_reply": {"created_at": first_t, "type": "conversation", "url": None},
            "sla_applied": None,
            "statistics": {"type": "conversation_statistics",
                           "time_to_assignment": rng.randint(0, 3600), "time_to_admin_reply": rng.randint(0, 7200),
                           "time_to_first_close": rng.randint(0, 86400), "time_to_last_close": rng.randint(0, 86400),
                           "median_time_to_reply": rng.randint(0, 3600), "first_contact_reply_at": first_t,
                           "first_assignment_at": first_t, "first_admin_reply_at": first_t,
                           "first_close_at": None, "last_assignment_at": first_t,
                           "last_assignment_admin_reply_at": first_t, "last_contact_reply_at": r.updated_at,
                           "last_admin_reply_at": r.updated_at, "last_close_at": None,
                           "last_closed_by_id": None, "count_reopens": r.rev,
                           "count_assignments": 1, "count_conversation_parts": len(parts)},
            "linked_objects": {"type": "list", "total_count": 0, "has_more": False, "data": []},
            "ai_agent_participated": False,
        }
        if with_parts:
            recent = parts[-PART_CAP:]
            d["conversation_parts"] = {"type": "conversation_part.list",
                                       "conversation_parts": [self.render_part(p, r.a) for p in recent],
                                       "total_count": len(parts)}
        return d

    def render_activity_log(self, r):
        a = self.admins[r.a % len(self.admins)] if self.admins else {"id": "0", "email": "nobody@example"}
        at = ACTIVITY_TYPES[r.b]
        return {"id": r.id, "performed_by": {"type": "admin", "id": a["id"], "email": a["email"],
                                             "ip": f"10.{r.idx % 256}.{(r.idx // 256) % 256}.7"},
                "metadata": {"source": "web", "sign_in_method": "email_password"} if "login" in at
                else {"update_by": int(a["id"]), "update_by_name": a.get("name")},
                "created_at": r.created_at, "activity_type": at,
                "activity_description": f"{a.get('name', 'Admin')} performed {at.replace('_', ' ')}."}

    def render_ticket(self, r, with_parts=False):
        rng = self._rng("ticket", r)
        tt = self.ticket_types[r.b]
        state = TICKET_STATES[(r.idx + r.rev) % 4]
        d = {"type": "ticket", "id": r.id, "ticket_id": str(r.idx + 1), "category": tt["category"],
             "ticket_attributes": {"_default_title_": f"Ticket {r.idx}: {rng.choice(WORDS)}",
                                   "_default_description_": " ".join(rng.choice(WORDS) for _ in range(8))},
             "ticket_state": state, "ticket_type": {k: v for k, v in tt.items()},
             "contacts": {"type": "contact.list", "contacts": [self._contact_ref(r.a)] if r.a >= 0 else []},
             "admin_assignee_id": self.admins[r.idx % len(self.admins)]["id"] if self.admins else None,
             "team_assignee_id": self.teams[r.idx % len(self.teams)]["id"] if self.teams else None,
             "created_at": r.created_at, "updated_at": r.updated_at, "open": state != "resolved",
             "snoozed_until": None, "linked_objects": {"type": "list", "total_count": 0, "has_more": False, "data": []},
             "is_shared": r.idx % 2 == 0, "ticket_state_internal_label": state.replace("_", " ").title(),
             "ticket_state_external_label": state.replace("_", " ").title()}
        if with_parts:
            d["ticket_parts"] = {"type": "ticket_part.list",
                                 "ticket_parts": [self.render_part(p, r.a, "ticket_part") for p in r.parts[-PART_CAP:]],
                                 "total_count": len(r.parts)}
        return d

    def render_data_attributes(self, model):
        return [dict(a) for a in self.data_attributes.get(model, [])]

    # ------------------------------------------------------------- mutation
    def _bump(self) -> int:
        self.version += 1
        return self.version

    def _find(self, table, id_, what):
        r = table.get(str(id_))
        if r is None:
            raise KeyError(f"unknown {what} {id_!r}")
        return r

    def update_contact(self, contact_id, updated_at: int | None = None, searchable_at: int | None = None):
        with self.lock:
            r = self._find(self.contact_by_id, contact_id, "contact")
            v = self._bump()
            now = self.now()
            r.updated_at = int(updated_at if updated_at is not None else now)
            r.created_at = min(r.created_at, r.updated_at)
            r.searchable_at = searchable_at if searchable_at is not None else time.time() + self.contacts_index_delay
            r.rev += 1
            r.version = v
            return r.id

    def add_contact(self, updated_at: int | None = None, searchable_at: int | None = None) -> str:
        with self.lock:
            v = self._bump()
            now = self.now()
            u = int(updated_at if updated_at is not None else now)
            rng = random.Random(f"{self.seed}:new-contact:{len(self.contacts)}")
            r = self._new_contact(rng, len(self.contacts), min(u, now), u, v)
            r.searchable_at = searchable_at if searchable_at is not None else time.time() + self.contacts_index_delay
            self.contacts.append(r)
            self.contact_by_id[r.id] = r
            return r.id

    def update_company(self, company_id, updated_at: int | None = None):
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
            self.companies.append(r)
            self.company_by_id[r.id] = r
            return r.id

    def add_conversation(self, created_at: int | None = None, n_parts: int = 2) -> str:
        with self.lock:
            v = self._bump()
            c = int(created_at if created_at is not None else self.now())
            rng = random.Random(f"{self.seed}:new-conversation:{len(self.conversations)}")
            r = self._new_conversation(rng, len(self.conversations), c, 0, c, v)
            r.parts = [self._part_tuple(rng, c, v) for _ in range(max(1, n_parts))]
            r.updated_at = c
            self.conversations.append(r)
            self.conversation_by_id[r.id] = r
            return r.id

    def add_conversation_parts(self, conversation_id, n: int = 1, at: int | None = None) -> list:
        with self.lock:
            r = self._find(self.conversation_by_id, conversation_id, "conversation")
            if r.deleted:
                raise KeyError(f"conversation {conversation_id} is deleted")
            v = self._bump()
            t = int(at if at is not None else self.now())
            rng = random.Random(f"{self.seed}:parts:{r.id}:{len(r.parts)}")
            new = [self._part_tuple(rng, t, v) for _ in range(n)]
            r.parts.extend(new)
            r.updated_at = max(r.updated_at, t)
            r.version = v
            return [str(p[0]) for p in new]

    def update_conversation(self, conversation_id, updated_at: int | None = None):
        with self.lock:
            r = self._find(self.conversation_by_id, conversation_id, "conversation")
            r.version = self._bump()
            r.updated_at = int(updated_at if updated_at is not None else self.now())
            r.rev += 1
            return r.id

    def delete_conversation(self, conversation_id):
        with self.lock:
            r = self._find(self.conversation_by_id, conversation_id, "conversation")
            r.version = self._bump()
            r.deleted = True

    def add_activity_log(self, created_at: int | None = None) -> str:
        with self.lock:
            v = self._bump()
            c = int(created_at if created_at is not None else self.now())
            rng = random.Random(f"{self.seed}:new-log:{len(self.activity_logs)}")
            r = self._new_activity_log(rng, len(self.activity_logs), c, v)
            self.activity_logs.append(r)
            return r.id

    def update_ticket(self, ticket_id, updated_at: int | None = None):
        with self.lock:
            r = self._find(self.ticket_by_id, ticket_id, "ticket")
            r.version = self._bump()
            r.updated_at = int(updated_at if updated_at is not None else self.now())
            r.rev += 1
            return r.id

    def mutate_random(self, rng: random.Random, fraction: float = 0.1) -> dict:
        """Change a random subset of every incremental stream, as one mutation (one version step)."""
        with self.lock:
            v = self._bump()
            now = self.now()

            def pick(seq):
                if not seq or fraction <= 0:
                    return []
                k = min(len(seq), max(1, int(round(fraction * len(seq)))))
                return rng.sample(seq, k)

            def n_new(n):
                return max(1, int(round(fraction * n * 0.25))) if fraction > 0 else 0

            summary = {}
            # contacts
            for r in pick(self.contacts):
                r.updated_at, r.searchable_at, r.rev, r.version = now, time.time() + self.contacts_index_delay, r.rev + 1, v
            k_new = n_new(len(self.contacts))
            for _ in range(k_new):
                r = self._new_contact(rng, len(self.contacts), now, now, v)
                r.searchable_at = time.time() + self.contacts_index_delay
                self.contacts.append(r)
                self.contact_by_id[r.id] = r
            summary["contacts"] = sum(1 for r in self.contacts if r.version == v)
            # companies
            for r in pick(self.companies):
                r.updated_at, r.rev, r.version = now, r.rev + 1, v
                if self.segments and rng.random() < 0.3:
                    k = min(self.sizes.company_segments_per_company, len(self.segments))
                    r.a = tuple(sorted(rng.sample(range(len(self.segments)), k)))
            for _ in range(n_new(len(self.companies))):
                r = self._new_company(rng, len(self.companies), now, now, v)
                self.companies.append(r)
                self.company_by_id[r.id] = r
            summary["companies"] = sum(1 for r in self.companies if r.version == v)
            # conversations (+ parts)
            live = [r for r in self.conversations if not r.deleted]
            new_parts = 0
            for r in pick(live):
                r.rev, r.version, r.updated_at = r.rev + 1, v, now
                if rng.random() < 0.7:
                    n = rng.randint(1, 3)
                    r.parts.extend(self._part_tuple(rng, now, v) for _ in range(n))
                    new_parts += n
            for _ in range(n_new(len(live))):
                r = self._new_conversation(rng, len(self.conversations), now, 0, now, v)
                r.parts = [self._part_tuple(rng, now, v) for _ in range(rng.randint(1, 3))]
                new_parts += len(r.parts)
                r.updated_at = now
                self.conversations.append(r)
                self.conversation_by_id[r.id] = r
            summary["conversations"] = sum(1 for r in self.conversations if r.version == v)
            summary["conversation_parts"] = new_parts
            # tickets
            for r in pick(self.tickets):
                r.rev, r.version, r.updated_at = r.rev + 1, v, now
            summary["tickets"] = sum(1 for r in self.tickets if r.version == v)
            # segments
            for r in pick(self.segments):
                r.rev, r.version, r.updated_at = r.rev + 1, v, now
            summary["segments"] = sum(1 for r in self.segments if r.version == v)
            # activity logs
            k = n_new(len(self.activity_logs) * 4)
            for _ in range(k):
                self.activity_logs.append(self._new_activity_log(rng, len(self.activity_logs), now, v))
            summary["activity_logs"] = k
            return summary

    # ---------------------------------------------------------- ground truth
    def expected_ids(self, stream: str, start_date: int | None = None) -> set:
        """Primary keys a complete sync of ``stream`` must emit (start_date inclusive)."""
        sd = start_date if start_date is not None else -(1 << 62)
        with self.lock:
            if stream == "admins":
                return {a["id"] for a in self.admins}
            if stream == "teams":
                return {t["id"] for t in self.teams}
            if stream == "tags":
                return {t["id"] for t in self.tags}
            if stream == "company_attributes":
                return {a["full_name"] for a in self.data_attributes["company"]}
            if stream == "contact_attributes":
                return {a["full_name"] for a in self.data_attributes["contact"]}
            if stream == "segments":
                return {r.id for r in self.segments if r.updated_at >= sd}
            if stream == "companies":
                return {r.id for r in self.companies if r.updated_at >= sd}
            if stream == "company_segments":
                return {(r.id, self.segments[s].id) for r in self.companies if r.updated_at >= sd for s in r.a}
            if stream == "contacts":
                return {r.id for r in self.contacts if r.updated_at >= sd}
            if stream == "conversations":
                return {r.id for r in self.conversations if not r.deleted and r.updated_at >= sd}
            if stream == "conversation_parts":
                return {str(p[0]) for r in self.conversations if not r.deleted and r.updated_at >= sd
                        for p in r.parts[-PART_CAP:]}
            if stream == "activity_logs":
                return {r.id for r in self.activity_logs if r.created_at >= sd}
            if stream == "tickets":
                return {r.id for r in self.tickets if r.updated_at >= sd}
            raise KeyError(f"unknown stream {stream!r}")

    def changed_ids(self, stream: str, since_version: int) -> set:
        """Keys of records created/changed in a mutation with version > since_version."""
        sv = since_version
        with self.lock:
            if stream in FULL_STREAMS:
                return set()
            if stream == "segments":
                return {r.id for r in self.segments if r.version > sv}
            if stream == "companies":
                return {r.id for r in self.companies if r.version > sv}
            if stream == "company_segments":
                return {(r.id, self.segments[s].id) for r in self.companies if r.version > sv for s in r.a}
            if stream == "contacts":
                return {r.id for r in self.contacts if r.version > sv}
            if stream == "conversations":
                return {r.id for r in self.conversations if not r.deleted and r.version > sv}
            if stream == "conversation_parts":
                return {str(p[0]) for r in self.conversations if not r.deleted
                        for p in r.parts[-PART_CAP:] if p[3] > sv}
            if stream == "activity_logs":
                return {r.id for r in self.activity_logs if r.version > sv}
            if stream == "tickets":
                return {r.id for r in self.tickets if r.version > sv}
            raise KeyError(f"unknown stream {stream!r}")

    def ground_truth(self, start_date: int | None = None) -> dict:
        out = {}
        for s in ALL_STREAMS:
            ids = self.expected_ids(s, start_date)
            out[s] = sorted([list(x) for x in ids]) if s == "company_segments" else sorted(ids, key=id_sort_key)
        return out
