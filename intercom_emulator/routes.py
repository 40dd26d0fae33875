"""Intercom's REST endpoints over a Workspace: the route table, then one handler per route.

A handler gets the request and the path's ``{id}`` values and returns the JSON answer (status
200), or raises ``ApiError``. Handlers run under the workspace lock.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlencode

from . import render
from .records import PART_CAP, id_sort_key
from .faults import FaultContext
from .gate import version_key
from .replies import ApiError, Reply, not_found
from .reporting import DATASETS, ReportingExports, ReportingRows
from .scroll import CompaniesScroll
from .search import SearchCache, SearchError, run_search
from .workspace import Workspace

LIST_COMPANIES_MAX = 10_000         # GET /companies cannot reach further than this
LIST_COMPANIES_PER_PAGE_MAX = 60
DATA_ATTRIBUTE_MODELS = ("contact", "company", "conversation")
# Default page sizes of page-number lists, as each endpoint's description says ("Defaults to 15").
# Where Intercom documents no maximum, ``per_page`` is accepted up to the server's page_size_cap.
CONTACT_COMPANIES_PER_PAGE = 15
CONTACT_NOTES_PER_PAGE = 15
ARTICLES_PER_PAGE = 15
COLLECTIONS_PER_PAGE = 15
HELP_CENTERS_PER_PAGE = 15
NEWS_PER_PAGE = 10                  # news items and newsfeeds: undocumented; the OpenAPI examples show 10
DELETED_CONVERSATIONS_PER_PAGE, DELETED_CONVERSATIONS_PER_PAGE_MAX = 20, 60     # documented in 2.16
CALLS_PER_PAGE = CALLS_PER_PAGE_MAX = 25        # documented in 2.16: "Defaults to 25. Max 25."
DEFAULT_VERSION = "2.11"            # the version a request without Intercom-Version gets
TICKET_PARTS_IN_SEARCH = 10         # undocumented: a ticket search result's most recent parts


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    body: object = None
    body_invalid: bool = False      # a body was sent but is not JSON
    host: str = ""                  # the Host header (or the server's address): absolute links use it
    version: str | None = None      # the Intercom-Version header, if sent
    accept: str = ""                # the Accept header

    @property
    def segments(self) -> list[str]:
        return [p for p in self.path.split("/") if p]

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


@dataclass(frozen=True)
class Route:
    method: str
    path: str                       # "/companies/{id}/segments": "{id}" matches any one segment
    handler: Callable[..., object]
    since: str | None = None        # the first Intercom-Version that has the endpoint

    def match(self, method: str, segments: list[str]) -> list[str] | None:
        """The ``{id}`` values if this route serves the request, else None."""
        pattern = self.path.strip("/").split("/")
        if method != self.method or len(segments) != len(pattern):
            return None
        ids = []
        for want, got in zip(pattern, segments):
            if want == "{id}":
                ids.append(got)
            elif want != got:
                return None
        return ids


class IntercomApi:
    def __init__(self, ws: Workspace, scroll: CompaniesScroll, page_size_cap: int = 150,
                 activity_logs_page_size: int = 50, default_version: str = DEFAULT_VERSION,
                 ticket_parts_in_search: int = TICKET_PARTS_IN_SEARCH,
                 reporting: ReportingExports | None = None, reporting_rows: ReportingRows | None = None):
        self.ws = ws
        self.scroll = scroll
        self.reporting = reporting if reporting is not None else ReportingExports()
        self.reporting_rows = reporting_rows if reporting_rows is not None else ReportingRows(
            ws.seed, ws.anchor, ws.span_days)
        self.page_size_cap = page_size_cap
        self.activity_logs_page_size = activity_logs_page_size
        self.ticket_parts_in_search = ticket_parts_in_search   # a ticket in search results carries this many
        self.default_version = default_version      # the app's version, for requests without the header
        self.search_cache = SearchCache()
        # First match wins: fixed paths come before the "{id}" paths they would also match.
        self.routes = (
            Route("GET", "/me", self.me),
            Route("GET", "/admins", self.admins),
            Route("GET", "/admins/activity_logs", self.activity_logs),
            Route("GET", "/admins/{id}", self.admin),
            Route("GET", "/teams", self.teams),
            Route("GET", "/tags", self.tags),
            Route("GET", "/segments", self.segments),
            Route("GET", "/data_attributes", self.data_attributes),
            Route("GET", "/companies/scroll", self.companies_scroll),
            Route("GET", "/companies", self.companies),
            Route("GET", "/companies/{id}", self.company),
            Route("GET", "/companies/{id}/segments", self.company_segments),
            Route("GET", "/contacts/{id}", self.contact),
            Route("GET", "/contacts/{id}/tags", self.contact_tags),
            Route("GET", "/contacts/{id}/companies", self.contact_companies),
            Route("GET", "/contacts/{id}/notes", self.contact_notes),
            Route("POST", "/contacts/search", functools.partial(self.search, "contacts")),
            Route("GET", "/conversations/deleted", self.deleted_conversations, since="2.16"),
            Route("GET", "/conversations/{id}", self.conversation),
            Route("POST", "/conversations/search", functools.partial(self.search, "conversations")),
            Route("GET", "/tickets/{id}", self.ticket),
            Route("POST", "/tickets/search", functools.partial(self.search, "tickets")),
            Route("GET", "/ticket_types", self.ticket_types),
            Route("GET", "/articles", self.articles),
            Route("GET", "/help_center/collections", self.collections),
            Route("GET", "/help_center/help_centers", self.help_centers),
            Route("GET", "/news/news_items", self.news_items),
            Route("GET", "/news/newsfeeds", self.newsfeeds),
            Route("GET", "/subscription_types", self.subscription_types),
            Route("GET", "/export/reporting_data/get_datasets", self.reporting_datasets, since="2.15"),
            Route("POST", "/export/reporting_data/enqueue", self.reporting_enqueue, since="2.15"),
            Route("GET", "/export/reporting_data/{id}", self.reporting_job, since="2.15"),
            Route("GET", "/download/reporting_data/{id}", self.reporting_download, since="2.15"),
            Route("GET", "/calls", self.calls, since="2.16"),
            Route("GET", "/ticket_states", self.ticket_states, since="2.16"),
        )

    def answer(self, req: ApiRequest) -> object:
        segments = req.segments
        with self.ws.lock:
            for route in self.routes:
                ids = route.match(req.method, segments)
                if ids is not None:
                    self._check_version(req, route)
                    return route.handler(req, *ids)
            raise not_found()

    def _check_version(self, req: ApiRequest, route: Route) -> None:
        """An endpoint that the request's version lacks answers 400 intercom_version_invalid."""
        if route.since and version_key(req.version or self.default_version) < version_key(route.since):
            raise ApiError(400, "intercom_version_invalid",
                           "Requested resource is not available in current API version.")

    def fault_context(self, req: ApiRequest) -> FaultContext:
        """What a fault rule sees of ``req``: for a scroll request, also the page it would serve."""
        if req.method != "GET" or req.segments != ["companies", "scroll"]:
            return FaultContext(req.method, req.path, req.query, req.body)
        param = req.param("scroll_param")
        with self.ws.lock:
            position = self.scroll.position(param, len(self.ws.companies))
        return FaultContext(req.method, req.path, req.query, req.body, opens_scroll=not param,
                            scroll_page=position.page if position else None,
                            scroll_pages=position.pages if position else None)

    # --------------------------------------------------------------- admins, teams, tags, lists
    def me(self, req: ApiRequest) -> dict:
        if not self.ws.admins:
            raise not_found()
        return render.admin(self.ws, self.ws.admins[0], with_app=True)

    def admins(self, req: ApiRequest) -> dict:
        return {"type": "admin.list", "admins": [render.admin(self.ws, a) for a in self.ws.admins]}

    def admin(self, req: ApiRequest, admin_id: str) -> dict:
        for a in self.ws.admins:
            if a.id == admin_id:
                return render.admin(self.ws, a)
        raise not_found("admin_not_found", "Admin not found")

    def teams(self, req: ApiRequest) -> dict:
        return {"type": "team.list", "teams": [render.team(t) for t in self.ws.teams]}

    def tags(self, req: ApiRequest) -> dict:
        return {"type": "list", "data": [render.tag(self.ws, i) for i in range(len(self.ws.tags))]}

    def segments(self, req: ApiRequest) -> dict:
        include_count = (req.param("include_count", "false") or "").lower() == "true"
        return {"type": "segment.list", "segments": [render.segment(r, include_count) for r in self.ws.segments],
                "pages": {}}

    def data_attributes(self, req: ApiRequest) -> dict:
        """Archived attributes only with ``include_archived=true``, for every model."""
        model = req.param("model")
        if model is not None and model not in DATA_ATTRIBUTE_MODELS:
            raise ApiError(400, "parameter_invalid", "model must be one of contact, company, conversation")
        include_archived = (req.param("include_archived") or "false").lower() == "true"
        models = DATA_ATTRIBUTE_MODELS if model is None else (model,)
        return {"type": "list",
                "data": [a for m in models for a in render.data_attributes(self.ws, m, include_archived)]}

    def ticket_types(self, req: ApiRequest) -> dict:
        """Every ticket type with its attributes. The list key is ``data`` (type ``list``) as the
        OpenAPI example shows; the 2.11 schema declares ``ticket_types``."""
        return {"type": "list", "data": [render.ticket_type(t) for t in self.ws.ticket_types]}

    def activity_logs(self, req: ApiRequest) -> dict:
        """Newest first; bounds are inclusive: created_at_after <= created_at <= created_at_before.
        ``pages.next`` is an absolute link (Host header), null on the last page."""
        after = _int_param(req, "created_at_after", required=True)
        before = _int_param(req, "created_at_before")
        page = _int_param(req, "page") or 1
        per_page = _int_param(req, "per_page") or self.activity_logs_page_size
        if page < 1 or not 1 <= per_page <= self.page_size_cap:
            raise ApiError(400, "parameter_invalid", "invalid page or per_page")
        logs = [r for r in self.ws.activity_logs
                if r.created_at >= after and (before is None or r.created_at <= before)]
        logs.sort(key=lambda r: (r.created_at, id_sort_key(r.id)), reverse=True)
        total_pages = max(1, math.ceil(len(logs) / per_page))
        chunk = logs[(page - 1) * per_page: page * per_page]
        next_link = None
        if page < total_pages:
            params = {k: v[0] for k, v in req.query.items() if k != "page"}
            params["page"] = page + 1
            next_link = f"http://{req.host}/admins/activity_logs?{urlencode(params)}"
        return {"type": "activity_log.list",
                "pages": {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages,
                          "next": next_link},
                "activity_logs": [render.activity_log(self.ws, r) for r in chunk]}

    # ------------------------------------------------------------------------------ companies
    def companies_scroll(self, req: ApiRequest) -> dict:
        param = req.param("scroll_param")
        if param:
            page = self.scroll.next_page(param)
        else:
            page = self.scroll.open(sorted((r.id for r in self.ws.companies), key=id_sort_key))
        data = [render.company(self.ws, self.ws.company_by_id[i]) for i in page.ids]
        return {"type": "list", "data": data, "pages": None, "total_count": None, "scroll_param": page.param}

    def companies(self, req: ApiRequest) -> dict:
        """Newest first, and no further than the first 10,000 companies."""
        try:
            page = int(req.param("page", "1"))
            per_page = int(req.param("per_page", "15"))
        except ValueError:
            raise ApiError(400, "parameter_invalid", "page and per_page must be integers")
        if page < 1 or not 1 <= per_page <= LIST_COMPANIES_PER_PAGE_MAX:
            raise ApiError(400, "parameter_invalid", "per_page must be between 1 and 60")
        newest_first = sorted(self.ws.companies, key=lambda r: (r.created_at, id_sort_key(r.id)), reverse=True)
        reachable = newest_first[:LIST_COMPANIES_MAX]
        total_pages = max(1, math.ceil(len(reachable) / per_page))
        chunk = reachable[(page - 1) * per_page: page * per_page]
        return {"type": "list", "data": [render.company(self.ws, r) for r in chunk],
                "pages": {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages},
                "total_count": len(newest_first)}

    def company(self, req: ApiRequest, company_id: str) -> dict:
        return render.company(self.ws, self._company(company_id))

    def company_segments(self, req: ApiRequest, company_id: str) -> dict:
        r = self._company(company_id)
        return {"type": "list", "data": [render.segment(self.ws.segments[s]) for s in r.segment_indexes]}

    def _company(self, company_id: str):
        r = self.ws.company_by_id.get(company_id)
        if r is None:
            raise not_found("company_not_found", "Company Not Found")
        return r

    # ------------------------------------------------------------ contacts, conversations, tickets
    def contact(self, req: ApiRequest, contact_id: str) -> dict:
        r = self.ws.contact_by_id.get(contact_id)
        if r is None:
            raise not_found()
        return render.contact(self.ws, r)

    def contact_tags(self, req: ApiRequest, contact_id: str) -> dict:
        """Every tag of the contact, unpaginated (the contact itself embeds at most 10)."""
        return render.contact_tags(self.ws, self._contact(contact_id))

    def contact_companies(self, req: ApiRequest, contact_id: str) -> dict:
        """Page-number pages; the list key is ``data`` as in the OpenAPI example (its schema says
        ``companies``); ``pages.next`` is a link, null on the last page (as in the example)."""
        r = self._contact(contact_id)
        companies = [self.ws.companies[c] for c in r.company_indexes]
        chunk, pages = self._page_of(req, companies, CONTACT_COMPANIES_PER_PAGE, null_next=True)
        return {"type": "list", "data": [render.company(self.ws, c) for c in chunk], "pages": pages,
                "total_count": len(companies)}

    def contact_notes(self, req: ApiRequest, contact_id: str) -> dict:
        """Newest first, page-number pages; ``pages.next`` is a link, null on the last page."""
        r = self._contact(contact_id)
        newest_first = list(reversed(range(r.note_count)))      # notes are written in order
        chunk, pages = self._page_of(req, newest_first, CONTACT_NOTES_PER_PAGE, null_next=True)
        return {"type": "list", "data": [render.note(self.ws, r, k) for k in chunk], "total_count": r.note_count,
                "pages": pages}

    def _contact(self, contact_id: str):
        r = self.ws.contact_by_id.get(contact_id)
        if r is None:
            raise not_found("not_found", "User Not Found")
        return r

    def conversation(self, req: ApiRequest, conversation_id: str) -> dict:
        r = self.ws.conversation_by_id.get(conversation_id)
        if r is None or r.deleted:
            raise not_found()
        return render.conversation(self.ws, r, with_parts=True)

    def ticket(self, req: ApiRequest, ticket_id: str) -> dict:
        r = self.ws.ticket_by_id.get(ticket_id)
        if r is None:
            raise not_found()
        return render.ticket(self.ws, r, parts=PART_CAP)

    # ------------------------------------------------------------------- help center, news
    def articles(self, req: ApiRequest) -> dict:
        """Most recently updated first, as documented (ties: highest id first)."""
        chunk, pages = self._page_of(req, _recently_updated_first(self.ws.articles), ARTICLES_PER_PAGE)
        return {"type": "list", "pages": pages, "total_count": len(self.ws.articles),
                "data": [render.article(self.ws, r) for r in chunk]}

    def collections(self, req: ApiRequest) -> dict:
        """Most recently updated first, as documented (ties: highest id first)."""
        chunk, pages = self._page_of(req, _recently_updated_first(self.ws.collections), COLLECTIONS_PER_PAGE)
        return {"type": "list", "data": [render.collection(self.ws, r) for r in chunk],
                "total_count": len(self.ws.collections), "pages": pages}

    def help_centers(self, req: ApiRequest) -> dict:
        """Not paginated in its answer (no ``pages``, no ``total_count``: OpenAPI schema and
        example); the documented ``page``/``per_page`` still cut the list (15 a page)."""
        chunk, _ = self._page_of(req, self.ws.help_centers, HELP_CENTERS_PER_PAGE)
        return {"type": "list", "data": [render.help_center(self.ws, h) for h in chunk]}

    def news_items(self, req: ApiRequest) -> dict:
        """Newest first by ``created_at`` (ties: highest id first); the order is undocumented."""
        newest = sorted(self.ws.news_items, key=lambda r: (r.created_at, id_sort_key(r.id)), reverse=True)
        chunk, pages = self._page_of(req, newest, NEWS_PER_PAGE)
        return {"type": "list", "pages": pages, "data": [render.news_item(self.ws, r) for r in chunk],
                "total_count": len(newest)}

    def newsfeeds(self, req: ApiRequest) -> dict:
        chunk, pages = self._page_of(req, self.ws.newsfeeds, NEWS_PER_PAGE)
        return {"type": "list", "pages": pages, "data": [render.newsfeed(f) for f in chunk],
                "total_count": len(self.ws.newsfeeds)}

    def subscription_types(self, req: ApiRequest) -> dict:
        return {"type": "list", "data": [render.subscription_type(t) for t in self.ws.subscription_types]}

    # -------------------------------------------------------------------- page-number lists
    # ------------------------------------------------------------------ reporting data export
    def reporting_datasets(self, req: ApiRequest) -> dict:
        return {"type": "list", "data": [d.render() for d in DATASETS]}

    def reporting_enqueue(self, req: ApiRequest) -> dict:
        return self.reporting.enqueue(req.body, req.host)

    def reporting_job(self, req: ApiRequest, job_identifier: str) -> dict:
        return self.reporting.status(job_identifier, req.host)

    def reporting_download(self, req: ApiRequest, job_identifier: str) -> Reply:
        """The job's rows as gzip-compressed CSV; only with ``Accept: application/octet-stream``."""
        if "application/octet-stream" not in req.accept:
            raise ApiError(406, "not_acceptable", "Accept: application/octet-stream is required to download an export")
        body = self.reporting.download(job_identifier, self.reporting_rows)
        return Reply(200, body, "application/octet-stream", {"Content-Encoding": "gzip"})

    def _page_of(self, req: ApiRequest, items: list, default_per_page: int, max_per_page: int | None = None,
                 null_next: bool = False) -> tuple[list, dict]:
        """The requested page of ``items`` (``page``, ``per_page``) and its ``pages`` object. A
        ``per_page`` above the maximum (the endpoint's, else page_size_cap) is a 400. ``next`` is
        the absolute link to the next page; on the last page it is absent, or null (``null_next``)."""
        maximum = max_per_page or self.page_size_cap
        page = _positive_int_param(req, "page", 1)
        per_page = _positive_int_param(req, "per_page", default_per_page)
        if per_page > maximum:
            raise ApiError(400, "parameter_invalid", f"per_page must be between 1 and {maximum}")
        total_pages = max(1, math.ceil(len(items) / per_page))
        pages = {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages}
        if page < total_pages:
            pages["next"] = _link_to_page(req, page + 1)
        elif null_next:
            pages["next"] = None
        return items[(page - 1) * per_page: page * per_page], pages

    def deleted_conversations(self, req: ApiRequest) -> dict:
        """Intercom-Version 2.16 and later: deleted conversations by ``deleted_at`` (``order`` desc by
        default, or asc; ties by id), 20 a page and at most 60; ``pages.next`` is a link, absent on
        the last page."""
        order = req.param("order", "desc")
        if order not in ("asc", "desc"):
            raise ApiError(400, "parameter_invalid", "order must be asc or desc")
        deleted = sorted((r for r in self.ws.conversations if r.deleted),
                         key=lambda r: (r.deleted_at, id_sort_key(r.id)), reverse=order == "desc")
        chunk, pages = self._page_of(req, deleted, DELETED_CONVERSATIONS_PER_PAGE, DELETED_CONVERSATIONS_PER_PAGE_MAX)
        return {"type": "conversations.list", "total_count": len(deleted), "pages": pages,
                "conversations": [render.deleted_conversation(r) for r in chunk]}

    def calls(self, req: ApiRequest) -> dict:
        """Intercom-Version 2.16 and later: every call, most recently created first (the order is
        undocumented; ties: highest id first), 25 a page and at most 25; ``pages.next`` is a link,
        absent on the last page."""
        newest = sorted(self.ws.calls, key=lambda r: (r.created_at, id_sort_key(r.id)), reverse=True)
        chunk, pages = self._page_of(req, newest, CALLS_PER_PAGE, CALLS_PER_PAGE_MAX)
        return {"type": "list", "data": [render.call(self.ws, r, req.host) for r in chunk],
                "total_count": len(newest), "pages": pages}

    def ticket_states(self, req: ApiRequest) -> dict:
        """Intercom-Version 2.16 and later: every ticket state, unpaginated (as its example)."""
        return {"type": "list", "data": [render.ticket_state(self.ws, s) for s in self.ws.ticket_states]}

    def search(self, stream: str, req: ApiRequest) -> dict:
        if req.body_invalid:
            raise ApiError(400, "bad_request", "Request body is not valid JSON")
        try:
            return run_search(self.ws, stream, req.body, self.search_cache, self.page_size_cap,
                              self.ticket_parts_in_search)
        except SearchError as e:
            raise ApiError(e.status, e.code, e.message)


def _int_param(req: ApiRequest, name: str, required: bool = False) -> int | None:
    value = req.param(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, "parameter_invalid", f"{name} is a required parameter")
        return None
    try:
        return int(value)
    except ValueError:
        raise ApiError(400, "parameter_invalid", f"{name} must be a UNIX timestamp")


def _recently_updated_first(records: list) -> list:
    """An order that moves as records change: page-number reads of it can skip or repeat records."""
    return sorted(records, key=lambda r: (r.updated_at, id_sort_key(r.id)), reverse=True)


def _positive_int_param(req: ApiRequest, name: str, default: int) -> int:
    value = req.param(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ApiError(400, "parameter_invalid", f"{name} must be a positive integer")
    return number


def _link_to_page(req: ApiRequest, page: int) -> str:
    """The request's own URL (Host header) with ``page`` replaced."""
    params = {k: v[0] for k, v in req.query.items() if k != "page"}
    params["page"] = page
    return f"http://{req.host}{req.path}?{urlencode(params)}"
