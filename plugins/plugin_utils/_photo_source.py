# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""Controller side of the photo modules: read src on the controller, send it as content."""

from __future__ import annotations

import base64

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.m365.photos.plugins.module_utils import _photo_files
from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError
from ansible_collections.m365.photos.plugins.module_utils._limits import MAX_SOURCE_BYTES


class PhotoSourceError(Exception):
    """src cannot be used; the message says why."""


class PhotoSourceAction(ActionBase):
    """Runs the module of the same name with every src (also in photos entries) found on the controller.

    src is looked up like copy's src (a role's files/ folder first), so the module itself can run
    on a jump host that reaches the directory or Graph while the photos stay on the controller.
    """

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        try:
            module_args = self._inline_sources(dict(self._task.args))
        except PhotoSourceError as error:
            result.update(failed=True, msg=str(error))
            return result
        result.update(self._execute_module(module_name=self._task.resolved_action,
                                           module_args=module_args, task_vars=task_vars))
        return result

    def _inline_sources(self, args: dict) -> dict:
        self._inline_source(args)
        if isinstance(args.get("photos"), list):
            args["photos"] = [self._inline_source(dict(entry)) if isinstance(entry, dict) else entry
                              for entry in args["photos"]]
        return args

    def _inline_source(self, options: dict) -> dict:
        """Replace src by the file's content, or by its absolute path when the module runs on the controller.

        All contents travel inside the module's arguments, so a remote host gets every photo with the one
        transfer of the module itself, not a round trip per file.
        """
        src = options.get("src")
        if src is None:
            return options
        if options.get("content") is not None:
            raise PhotoSourceError("parameters are mutually exclusive: src|content (photo %s)" % src)
        path = self._controller_path(src)
        try:
            if self._module_runs_on_controller():
                _photo_files.check_photo_file(path, MAX_SOURCE_BYTES)
                options["src"] = path
            else:
                del options["src"]
                options["content"] = base64.b64encode(_photo_files.read_photo_file(path, MAX_SOURCE_BYTES)).decode("ascii")
        except PhotoError as error:
            raise PhotoSourceError(str(error)) from None
        return options

    def _module_runs_on_controller(self) -> bool:
        # The local connection does not set _remote_is_local (only network connections do); Ansible's own
        # action plugins test its transport name the same way.
        return self._connection.transport in ("local", "ansible.builtin.local") \
            or getattr(self._connection, "_remote_is_local", False)

    def _controller_path(self, src: str) -> str:
        try:
            path = self._find_needle("files", src)
        except AnsibleError as error:
            raise PhotoSourceError("Cannot find the photo file '%s' on the controller: %s" % (src, error)) from None
        return path
