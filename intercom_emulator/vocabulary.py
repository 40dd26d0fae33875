"""Fixed words and attribute definitions the generated workspace draws its content from."""
from __future__ import annotations

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
# Archived custom attributes: listed only with include_archived=true; no record carries a value.
CONTACT_ARCHIVED_ATTRS = [("legacy_plan", "string")]
COMPANY_ARCHIVED_ATTRS = [("old_region", "string")]
CONVERSATION_ARCHIVED_ATTRS = [("legacy_queue", "string")]
# Ticket type attributes beyond the two every ticket type has (_default_title_, _default_description_).
TICKET_TYPE_CUSTOM_ATTRS = [("severity", "list"), ("affected_url", "string"), ("order_number", "integer"),
                            ("reproducible", "boolean")]

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
