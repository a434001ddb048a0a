# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""The collection's own errors: each message is a sentence for the person running the playbook."""

from __future__ import annotations


class PhotoError(Exception):
    """A failure worded for the person running the playbook; modules report str(error) as msg.

    retryable: sending the same request again later may succeed (throttling, a service briefly away).
    retry_after: seconds the service asked to wait, when it said.
    """

    retryable = False
    retry_after: float | None = None
