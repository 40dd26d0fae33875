"""The fewest requests any connector needs to read a workspace of the emulator, stream by stream.

One request per page at the largest page size each endpoint takes (150 for the searches and the
help-center lists, 60 for deleted conversations, 25 for calls; the companies scroll, the activity
logs and the news take none, so their server's own), one per conversation for its parts, one per company for
its segments, one per contact list Intercom cuts at 10 items (and per further page of it), one per
ticket whose search result cuts its parts short, one per single-page list (and one for team_admins, which reads the teams' list again). A parent
read for several streams (the companies scroll, the searches) counts once, and the relationship
streams that take the rows of lists their parents embed (company_tags, conversation_tags, ...)
cost nothing more.
"""

from __future__ import annotations

import math
from typing import Dict, Iterable

from intercom_emulator import EmulatorServer, Workspace
from source_intercom.stream_facts import reading_families

SEARCH_PAGE = 150
LIST_PAGE = 150
DELETED_CONVERSATIONS_PAGE = 60
CALLS_PAGE = 25
NEWS_PAGE = 10  # the emulator's default for an endpoint that takes no page size
CONTACT_LIST_PAGE = 15  # the emulator's default for a contact's companies and notes
EMBEDDED_MAX = 10  # Intercom embeds at most 10 items of a contact's list
SINGLE_PAGE = ("admins", "teams", "team_admins", "tags", "segments", "company_attributes", "contact_attributes",
               "conversation_attributes", "ticket_types", "ticket_states", "help_centers", "subscription_types")


READINGS = reading_families()  # a reading costs its requests once, however many of its streams a sync holds


def pages(records: int, per_page: int) -> int:
    return max(1, math.ceil(records / per_page))


def fewest_requests(ws: Workspace, server: EmulatorServer, start: int, streams: Iterable[str]) -> Dict[str, int]:
    """{stream: fewest requests} for a full sync of ``streams`` from ``start`` (unix seconds)."""
    selected = set(streams)
    count = {stream: len(ws.expected_ids(stream, start)) for stream in selected}
    fewest: Dict[str, int] = {}
    for stream in selected:
        if stream in SINGLE_PAGE:
            fewest[stream] = 1
    if selected & set(READINGS["companies"]):
        first = next(stream for stream in READINGS["companies"] if stream in selected)
        fewest[first] = math.ceil(len(ws.companies) / server.scroll_page_size) + 1  # and the empty page that ends it
    if "company_segments" in selected:
        fewest["company_segments"] = fewest.get("company_segments", 0) + len({company for company, _ in ws.expected_ids("company_segments", start)})
    readings = {reading: family for reading, family in READINGS.items() if reading != "companies"}
    for reading, family in readings.items():
        if selected & set(family):
            first = next(stream for stream in family if stream in selected)
            searched = len(ws.expected_ids(reading, start))
            fewest[first] = fewest.get(first, 0) + pages(searched, SEARCH_PAGE)
    if selected & set(readings["contacts"]):
        first = next(stream for stream in readings["contacts"] if stream in selected)
        fewest[first] += sum(contact_list_requests(ws, contact) for contact in ws.expected_ids("contacts", start))
    if "conversation_parts" in selected:
        fewest["conversation_parts"] = fewest.get("conversation_parts", 0) + len(ws.expected_ids("conversations", start))
    if "ticket_parts" in selected:
        cut = sum(1 for ticket in ws.tickets if ticket.updated_at >= start and len(ticket.parts) > server.api.ticket_parts_in_search)
        fewest["ticket_parts"] = fewest.get("ticket_parts", 0) + cut
    for stream, per_page in (("activity_logs", server.api.activity_logs_page_size), ("deleted_conversations", DELETED_CONVERSATIONS_PAGE),
                             ("articles", LIST_PAGE), ("help_center_collections", LIST_PAGE), ("news_items", NEWS_PAGE),
                             ("newsfeeds", NEWS_PAGE)):
        if stream in selected:
            fewest[stream] = pages(count[stream], per_page)
    if "calls" in selected:  # read whole: the list has no filter
        fewest["calls"] = pages(len(ws.calls), CALLS_PAGE)
    return fewest


def contact_list_requests(ws: Workspace, contact_id: str) -> int:
    """Requests for the lists of one contact that Intercom cuts at 10 items."""
    tags = len(ws.contact_tag_ids(contact_id))
    companies, notes = len(ws.contact_company_ids(contact_id)), len(ws.contact_note_ids(contact_id))
    return (tags > EMBEDDED_MAX) + sum(pages(n, CONTACT_LIST_PAGE) for n in (companies, notes) if n > EMBEDDED_MAX)
