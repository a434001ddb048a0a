# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for m365.photos.exchange_online_photo: reads src on the controller."""

from __future__ import annotations

from ansible_collections.m365.photos.plugins.plugin_utils._photo_source import PhotoSourceAction


class ActionModule(PhotoSourceAction):
    pass
