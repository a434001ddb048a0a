# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Limits stated once: what the services accept, and what this collection reads or sends at a time."""

from __future__ import annotations

# Largest photo file read as a source, on the controller and on the host running the module.
MAX_SOURCE_BYTES = 50 * 1024 * 1024
# Largest picture decoded, in pixels (a decompression bomb guard).
MAX_SOURCE_PIXELS = 100_000_000

# Active Directory: thumbnailPhoto's rangeUpper in the schema (MS-ADA3); Exchange Online takes at most 10 KB.
AD_SCHEMA_LIMIT = 102400
EXCHANGE_ONLINE_SYNC_LIMIT = 10240

# Microsoft Graph takes photos of "up to 4 MB"; the default stays below both readings of that.
GRAPH_UPLOAD_LIMIT = 4 * 1024 * 1024
GRAPH_DEFAULT_MAX_BYTES = 4000000
# The square sizes Graph serves; 648 is the largest one it keeps.
GRAPH_PHOTO_SIDES = (48, 64, 96, 120, 240, 360, 432, 504, 648)

# Entries looked up, planned and written together: bounds memory whatever the entry count.
CHUNK_SIZE = 500
# Identities per LDAP search (an OR of escaped terms; servers cap the request size) and page size. Samba's cost
# grows faster than the terms: 10,000 users took 7.5-10.4 s at 500 a search, 6.6-7.6 s at 250 (2026-12-04); fewer
# still gained a little more on the sandbox but would add a round trip per 100 users against a distant DC.
IDENTITIES_PER_SEARCH = 250
LDAP_PAGE_SIZE = 500
# A run that names at least SCAN_MIN_NAMES users and looks them up without photos (cache_dir recalls them) lists
# every user under base_dn in one paged search instead (10,000 on Samba: 2.3 s against 4.1 s by name), unless
# the subtree holds more than SCAN_MAX_USERS_PER_NAME users per name: the scan stops there and the names are
# searched for, so a run naming a few thousand users of a large domain pays at most that much more.
SCAN_MIN_NAMES = 1000
SCAN_MAX_USERS_PER_NAME = 2
# Requests in one Graph JSON batch ($batch), and how many of them Graph runs at once (json-batching; Microsoft
# Q&A: "dispatches up to four individual requests from a batch ... simultaneously").
MAX_BATCH_REQUESTS = 20
BATCH_PARALLELISM = 4
# Requests in flight per app by default: the strictest reading of the Outlook service limits that list photos,
# 4 concurrent requests per app ID whatever the mailbox (https://learn.microsoft.com/graph/throttling-limits).
GRAPH_DEFAULT_CONCURRENCY = 4
# Reads (exchange_online_photo_info's) and exchange_online_photo's look-ups and writes (unless its concurrency is
# set) start there and ramp up to this many while nothing is throttled: requests for different users touch
# different mailboxes, and the limit's other reading is 4 per app and mailbox. The first 429 puts them back to 4 for
# the rest of the run.
GRAPH_READ_CEILING = 64
# Graph answers worth sending again later: throttled, or the service briefly unavailable.
GRAPH_RETRYABLE_STATUSES = (429, 503, 504)
