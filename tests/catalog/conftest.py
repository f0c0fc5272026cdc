"""The catalog tests reuse the industries fixtures (a tmp data root's resources, an instance)."""

from tests.industries.conftest import instance, res  # noqa: F401 - fixtures
