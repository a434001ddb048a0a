# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
"""

    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
"""

    LDAP_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/m365.photos.ldap) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - m365.photos.ldap
"""

    GRAPH_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/m365.photos.graph) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - m365.photos.graph
"""
