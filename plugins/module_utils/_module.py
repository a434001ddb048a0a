# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the m365.photos collection: not a public API, may change without notice.
"""The base of the collection's modules: option groups merged, dependencies checked once, errors worded."""

from __future__ import annotations

import traceback
from contextlib import contextmanager
from dataclasses import dataclass

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.m365.photos.plugins.module_utils._errors import PhotoError


@dataclass(frozen=True)
class Dependency:
    """A Python package a module needs on the host that runs it, and whether it imported."""

    name: str
    present: bool
    import_error: str | None


class PhotoModule(AnsibleModule):
    """An AnsibleModule whose argument spec is the union of option groups, which fails with one readable
    message when a dependency is missing, and turns the collection's errors into fail_json(msg=...)."""

    def __init__(self, option_groups: list, dependencies: list, warn_about: tuple = (), **kwargs) -> None:
        """warn_about: functions of the module's params, each giving warnings about them (a list of sentences)."""
        spec: dict = {}
        for group in option_groups:
            spec.update(group)
        super().__init__(argument_spec=spec, **kwargs)
        for dependency in dependencies:
            if not dependency.present:
                self.fail_json(msg=missing_required_lib(dependency.name), exception=dependency.import_error)
        for warnings_of in warn_about:
            self.warn_each(warnings_of(self.params))

    def warn_each(self, warnings: list) -> None:
        for warning in warnings:
            self.warn(warning)

    @contextmanager
    def failing_on_errors(self, **result):
        """PhotoError -> fail_json(msg); anything unexpected keeps its traceback in exception=."""
        try:
            yield
        except PhotoError as error:
            self.fail_json(msg=str(error), **result)
        except Exception as error:  # pylint: disable=broad-except
            self.fail_json(msg="Unexpected %s: %s" % (type(error).__name__, error),
                           exception=traceback.format_exc(), **result)
