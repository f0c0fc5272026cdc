"""The invoice sample data is deterministic: the same seed writes byte-identical files."""

from cli.generators.invoices import generate
from resources.lib.files import file_sha256


def test_same_seed_same_files(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert generate(first, seed=7, scale=0.2) == generate(second, seed=7, scale=0.2)
    names = sorted(p.name for p in (first / "landing" / "invoices").iterdir())
    assert len(names) == 10
    for name in names:
        assert file_sha256(first / "landing" / "invoices" / name) == file_sha256(
            second / "landing" / "invoices" / name
        )
