"""How big a generated workspace is, and the named presets (CLI ``--preset``, tests, benchmarks)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class WorkspaceSizes:
    admins: int = 5
    teams: int = 3
    tags: int = 12
    segments: int = 6
    companies: int = 120
    company_segments_per_company: int = 2
    contacts: int = 400
    contacts_with_long_lists: bool = True  # some contacts have more than 10 tags, companies or notes (cut lists)
    conversations: int = 150
    parts_per_conversation: int = 8
    activity_logs: int = 300
    tickets: int = 60
    conversations_over_part_cap: int = 1   # conversations with more than PART_CAP parts
    deleted_conversations: int = 25        # conversations deleted before now, beyond ``conversations`` (20 a page)
    parts_over_part_cap: int = 620        # parts in each of those conversations
    ticket_parts_per_ticket: int = 3      # a typical ticket has 1 to 2x this many parts; every 10th has 11-40
    tickets_over_part_cap: int = 1         # tickets with more than PART_CAP parts
    ticket_parts_over_part_cap: int = 530  # parts in each of those tickets
    ticket_types: int = 3
    # the help center and news: enough for two pages or more at each list's default page size
    help_centers: int = 3
    collections: int = 24               # GET /help_center/collections: 15 a page
    articles: int = 40                  # GET /articles: 15 a page
    newsfeeds: int = 24                 # GET /news/newsfeeds: 10 a page (the example shows one page)
    news_items: int = 25                # GET /news/news_items: 10 a page
    subscription_types: int = 3
    # API 2.16
    calls: int = 60                     # GET /calls: at most 25 a page
    ticket_states: int = 5


PRESETS: dict[str, WorkspaceSizes] = {
    "small": WorkspaceSizes(),
    "demo": WorkspaceSizes(admins=6, teams=3, tags=15, segments=8, companies=300, contacts=500,
                           conversations=300, parts_per_conversation=6, activity_logs=400, tickets=200,
                           deleted_conversations=30, collections=30, articles=60, news_items=30, calls=70),
    "benchmark": WorkspaceSizes(admins=20, teams=6, tags=40, segments=12, companies=2000, contacts=20000,
                                conversations=5000, parts_per_conversation=8, activity_logs=2000,
                                tickets=500, conversations_over_part_cap=2, tickets_over_part_cap=2,
                                deleted_conversations=200,
                                help_centers=4, collections=60,
                                articles=400, newsfeeds=24, news_items=120, subscription_types=5, calls=300),
}
