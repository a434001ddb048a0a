"""Markers of the integration suite."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "serial: stops or restarts a shared sandbox server, so it runs alone after the parallel run "
        "(make integration: pytest -m 'not serial' -n 2, then pytest -m serial)")
