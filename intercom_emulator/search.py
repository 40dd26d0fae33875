"""Intercom search query language (contacts / conversations / tickets) with keyset cursors.

Query ``Q`` is a filter ``{"field","operator","value"}`` or a group
``{"operator": "AND"|"OR", "value": [Q, ...]}``.  Limits: a group holds at most 15 items and
groups nest at most 2 levels below the root group (root -> group -> group).

Contacts date fields compare by *calendar day in the workspace time zone*: ``=`` matches the
value's whole day, ``>`` matches from the start of the next day, ``<`` before the start of the
value's day; any other operator on such a field is an error.  Conversations and tickets compare
exact values with every operator.
"""
from __future__ import annotations

import base64
import bisect
import json
import math

from . import render
from .records import id_sort_key

MAX_FILTERS_PER_GROUP = 15
MAX_NESTING = 2
OPERATORS = {"=", "!=", "IN", "NIN", "<", "<=", ">", ">=", "~", "!~", "^", "$"}

CONTACT_DATE_FIELDS = {"created_at", "updated_at", "signed_up_at", "last_seen_at", "last_contacted_at",
                       "last_replied_at", "last_email_opened_at", "last_email_clicked_at",
                       "ios_last_seen_at", "android_last_seen_at"}
FAST_FIELDS = {"id", "created_at", "updated_at"}


class SearchError(Exception):
    def __init__(self, code, message, status=400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def encode_cursor(sort_value, id_, page) -> str:
    raw = json.dumps([sort_value, id_, page], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(s):
    try:
        pad = "=" * (-len(s) % 4)
        v = json.loads(base64.urlsafe_b64decode(s + pad))
        if not (isinstance(v, list) and len(v) == 3 and isinstance(v[1], str) and isinstance(v[2], int)):
            raise ValueError
        return v
    except Exception:
        raise SearchError("parameter_invalid", "starting_after is invalid")


# ------------------------------------------------------------------ validation
def validate(q, stream, depth=0):
    if not isinstance(q, dict):
        raise SearchError("parameter_invalid", "query must be an object")
    op = q.get("operator")
    if "field" in q:
        if not isinstance(q["field"], str) or not q["field"]:
            raise SearchError("parameter_invalid", "field must be a non-empty string")
        if op not in OPERATORS:
            raise SearchError("parameter_invalid", f"operator '{op}' is not supported")
        if "value" not in q:
            raise SearchError("parameter_invalid", "value is required")
        v = q["value"]
        if op in ("IN", "NIN") and not isinstance(v, list):
            raise SearchError("parameter_invalid", f"value must be an array for operator {op}")
        if stream == "contacts" and q["field"] in CONTACT_DATE_FIELDS:
            if op not in ("=", "<", ">"):
                raise SearchError("parameter_invalid",
                                  f"Operator '{op}' is not supported for date field '{q['field']}'; "
                                  "use one of '=', '<', '>'")
            if _num(v) is None:
                raise SearchError("parameter_invalid", f"value for date field '{q['field']}' must be a unix timestamp")
        return
    if op not in ("AND", "OR"):
        raise SearchError("parameter_invalid", f"operator '{op}' is not a valid group operator (AND, OR)")
    items = q.get("value")
    if not isinstance(items, list) or not items:
        raise SearchError("parameter_invalid", "a group's value must be a non-empty array")
    if len(items) > MAX_FILTERS_PER_GROUP:
        raise SearchError("parameter_invalid",
                          f"A maximum of {MAX_FILTERS_PER_GROUP} filters is allowed per AND/OR group")
    for it in items:
        if isinstance(it, dict) and "field" not in it:
            if depth + 1 > MAX_NESTING:
                raise SearchError("parameter_invalid", f"A maximum of {MAX_NESTING} nested groups is allowed")
            validate(it, stream, depth + 1)
        else:
            validate(it, stream, depth)


# -------------------------------------------------------------------- matching
def _num(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        try:
            return float(v) if "." in v else int(v)
        except ValueError:
            return None
    return None


def _path(doc, field):
    cur = doc
    for part in field.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
    return cur


def _eq(a, b):
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    na, nb = _num(a), _num(b)
    if na is not None and nb is not None:
        return na == nb
    return str(a).lower() == str(b).lower()


def _cmp_scalar(fv, op, v):
    if op == "=":
        return _eq(fv, v)
    if op == "!=":
        return not _eq(fv, v)
    if op == "IN":
        return any(_eq(fv, x) for x in v)
    if op == "NIN":
        return not any(_eq(fv, x) for x in v)
    if op in ("<", "<=", ">", ">="):
        a, b = _num(fv), _num(v)
        if a is None or b is None:
            return False
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
    if fv is None:
        return op == "!~"
    s, t = str(fv).lower(), str(v).lower()
    if op == "~":
        return t in s
    if op == "!~":
        return t not in s
    if op == "^":
        return s.startswith(t)
    if op == "$":
        return s.endswith(t)
    return False


class Matcher:
    def __init__(self, ws, stream):
        self.ws = ws
        self.stream = stream
        self._doc_cache = {}

    def doc(self, rec):
        d = self._doc_cache.get(id(rec))
        if d is None:
            d = self.ws_render(rec)
            self._doc_cache[id(rec)] = d
        return d

    def ws_render(self, rec):
        if self.stream == "contacts":
            return render.contact(self.ws, rec)
        if self.stream == "conversations":
            return render.conversation(self.ws, rec)
        return render.ticket(self.ws, rec)

    def value(self, rec, field):
        if field in FAST_FIELDS:
            return getattr(rec, field)
        d = self.doc(rec)
        if self.stream in ("conversations", "tickets"):
            if field == "contact_ids":
                return [c["id"] for c in d["contacts"]["contacts"]]
            if field == "tag_ids" and self.stream == "conversations":
                return [t["id"] for t in d["tags"]["tags"]]
            if field == "teammate_ids" and self.stream == "conversations":
                return [t["id"] for t in d["teammates"]["teammates"]]
            if field == "ticket_type_id" and self.stream == "tickets":
                return d["ticket_type"]["id"]
        if self.stream == "contacts":      # every tag and company, not only the 10 the contact embeds
            if field in ("tag_id", "tags.id"):
                return [self.ws.tags[t].id for t in rec.tag_indexes]
            if field in ("company_id", "companies.id"):
                return [self.ws.companies[c].id for c in rec.company_indexes]
        return _path(d, field)

    def match(self, rec, q):
        if "field" not in q:
            items = q["value"]
            if q["operator"] == "AND":
                return all(self.match(rec, it) for it in items)
            return any(self.match(rec, it) for it in items)
        field, op, v = q["field"], q["operator"], q["value"]
        fv = self.value(rec, field)
        if self.stream == "contacts" and field in CONTACT_DATE_FIELDS:
            if fv is None:
                return False
            day_f, day_v = self.ws.day_of(fv), self.ws.day_of(_num(v))
            return {"=": day_f == day_v, ">": day_f > day_v, "<": day_f < day_v}[op]
        if isinstance(fv, list):
            if op in ("!=", "NIN", "!~"):
                return all(_cmp_scalar(x, op, v) for x in fv)
            return any(_cmp_scalar(x, op, v) for x in fv)
        return _cmp_scalar(fv, op, v)


# --------------------------------------------------------------------- search
class SearchCache:
    """Caches sorted matching entries per (stream, query, sort, workspace version)."""

    def __init__(self, max_entries=64):
        self.entries = {}
        self.max_entries = max_entries

    def get(self, key, version):
        e = self.entries.get(key)
        if e and e[0] == version:
            return e[1]
        return None

    def put(self, key, version, value):
        if len(self.entries) >= self.max_entries:
            self.entries.clear()
        self.entries[key] = (version, value)


def _sort_value(matcher, rec, field):
    v = matcher.value(rec, field)
    if isinstance(v, list):
        v = v[0] if v else None
    return v


def _sort_key(sv, id_):
    n = _num(sv)
    if sv is None:
        return (0, 0, "", id_sort_key(id_))
    if n is not None:
        return (1, n, "", id_sort_key(id_))
    return (2, 0, str(sv), id_sort_key(id_))


def run_search(ws, stream, body, cache: SearchCache, page_size_cap=150, ticket_parts=10):
    """Return the Intercom search response dict for ``stream``. Caller holds ws.lock. Tickets
    carry their ``ticket_parts`` most recent parts; contacts and conversations carry no parts."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise SearchError("bad_request", "Request body must be a JSON object")
    q = body.get("query")
    if q is None:
        raise SearchError("parameter_invalid", "query is required")
    validate(q, stream)
    sort = body.get("sort") or {}
    if not isinstance(sort, dict):
        raise SearchError("parameter_invalid", "sort must be an object")
    sort_field = sort.get("field") or "created_at"
    order = sort.get("order") or "ascending"
    if order not in ("ascending", "descending"):
        raise SearchError("parameter_invalid", "sort order must be 'ascending' or 'descending'")
    pag = body.get("pagination") or {}
    if not isinstance(pag, dict):
        raise SearchError("parameter_invalid", "pagination must be an object")
    per_page = pag.get("per_page", 50)
    if isinstance(per_page, str) and per_page.isdigit():
        per_page = int(per_page)
    if not isinstance(per_page, int) or isinstance(per_page, bool) or not 1 <= per_page <= page_size_cap:
        raise SearchError("parameter_invalid", f"per_page must be between 1 and {page_size_cap}")
    starting_after = pag.get("starting_after")
    cursor = decode_cursor(starting_after) if starting_after else None

    if stream == "contacts":
        records = ws.contacts
    elif stream == "conversations":
        records = ws.conversations
    else:
        records = ws.tickets

    key = (stream, json.dumps(q, sort_keys=True), sort_field)
    entries = cache.get(key, ws.version)
    if entries is None:
        m = Matcher(ws, stream)
        entries = []
        for r in records:
            if r.deleted:
                continue
            if m.match(r, q):
                sv = _sort_value(m, r, sort_field)
                entries.append((_sort_key(sv, r.id), sv, r))
        entries.sort(key=lambda e: e[0])
        cache.put(key, ws.version, entries)

    now = ws.clock()
    if stream == "contacts":
        def visible(r):
            return r.searchable_at <= now
    else:
        def visible(r):
            return True

    total = sum(1 for e in entries if visible(e[2]))
    keys = [e[0] for e in entries] if cursor else None
    if order == "ascending":
        start = bisect.bisect_right(keys, _sort_key(cursor[0], cursor[1])) if cursor else 0
        seq = (entries[i] for i in range(start, len(entries)))
    else:
        end = bisect.bisect_left(keys, _sort_key(cursor[0], cursor[1])) if cursor else len(entries)
        seq = (entries[i] for i in range(end - 1, -1, -1))
    page_no = (cursor[2] + 1) if cursor else 1
    chosen, more = [], False
    for e in seq:
        if not visible(e[2]):
            continue
        if len(chosen) == per_page:
            more = True
            break
        chosen.append(e)

    if stream == "contacts":
        items = [render.contact(ws, e[2]) for e in chosen]
        out = {"type": "list", "data": items}
    elif stream == "conversations":
        items = [render.conversation(ws, e[2]) for e in chosen]
        out = {"type": "conversation.list", "conversations": items}
    else:
        items = [render.ticket(ws, e[2], parts=ticket_parts) for e in chosen]
        out = {"type": "ticket.list", "tickets": items}
    out["total_count"] = total
    pages = {"type": "pages", "page": page_no, "per_page": per_page,
             "total_pages": max(page_no, math.ceil(total / per_page)) if total else 0}
    if more and chosen:
        last = chosen[-1]
        pages["next"] = {"page": page_no + 1, "starting_after": encode_cursor(last[1], last[2].id, page_no)}
    out["pages"] = pages
    return out
