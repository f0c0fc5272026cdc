"""The Dagster UI, started on the demo's instance, shows the five domains' asset groups and
what the demo materialized, and works without a single request leaving the machine.

The expectation comes from the definitions (which asset is in which group) and the instance
(each asset's latest materialization: its run and partition), not from a fixed list, so the
test follows the demo; the assertions are on what the UI shows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips the tests (fails them under CI=true)
    expect = None

GROUPS = ("ctr", "customers", "industries", "invoices", "late_payments")


@dataclass(frozen=True)
class Asset:
    """One asset of a domain group and its latest materialization (None: never)."""

    key: dg.AssetKey
    group: str
    partitioned: bool
    run_id: str | None
    partition: str | None

    @property
    def href(self) -> str:
        """The asset's page in the UI (relative to the webserver)."""
        return "/assets/" + "/".join(self.key.path)


@pytest.fixture(scope="module")
def demo_assets(platform: Any) -> dict[str, list[Asset]]:
    """group -> its assets, with what the instance recorded as their latest materialization."""
    from definitions import defs

    groups: dict[str, list[Asset]] = defaultdict(list)
    with dg.DagsterInstance.from_config(str(platform.home)) as instance:
        for node in defs.resolve_asset_graph().asset_nodes:
            if node.group_name not in GROUPS or not node.is_materializable:
                continue
            event = instance.get_latest_materialization_event(node.key)
            groups[node.group_name].append(Asset(
                node.key, node.group_name, node.partitions_def is not None,
                event.run_id if event else None,
                event.dagster_event.partition if event and event.dagster_event else None))
    for group in GROUPS:  # the demo fills every domain
        assert any(a.run_id for a in groups[group]), f"the demo materialized nothing in {group}"
    return groups


def _showcase(assets: list[Asset]) -> list[Asset]:
    """A few materialized assets of one group: a partitioned one and an unpartitioned one."""
    done = [a for a in assets if a.run_id]
    return [a for a in done if a.partitioned][:1] + [a for a in done if not a.partitioned][:1]


def test_each_asset_group_lists_its_assets_as_materialized(
    page: Any, platform: Any, demo_assets: dict[str, list[Asset]]
) -> None:
    """Each group's page lists every asset of the group; an unpartitioned asset the demo
    materialized shows "Materialized" with a link to the run that did it."""
    page.set_viewport_size({"width": 1400, "height": 2400})  # the list renders visible rows
    for group in GROUPS:
        page.goto(f"{platform.dagster_url}/locations/definitions/asset-groups/{group}/list")
        expect(page.get_by_text(group, exact=True).first).to_be_visible()
        for asset in demo_assets[group]:
            expect(page.locator(f'a[href="{asset.href}"]').first).to_be_visible()
        materialized = [a for a in demo_assets[group] if a.run_id and not a.partitioned]
        for asset in materialized:
            expect(page.locator(f'a[href^="/runs/{asset.run_id}"]').first).to_be_visible()
        if materialized:
            expect(page.get_by_text("Materialized", exact=True)).to_have_count(len(materialized))
    assert page.blocked_urls == []


def test_asset_pages_show_the_latest_materialization(
    page: Any, platform: Any, demo_assets: dict[str, list[Asset]]
) -> None:
    """An asset's page shows its latest materialization: the run the instance recorded and,
    for a partitioned asset, the partition."""
    for group in GROUPS:
        for asset in _showcase(demo_assets[group]):
            page.goto(platform.dagster_url + asset.href)
            expect(page.get_by_text("Latest materialization").first).to_be_visible()
            expect(page.locator(f'a[href^="/runs/{asset.run_id}"]').first).to_be_visible()
            if asset.partition:
                expect(page.get_by_text(asset.partition, exact=True).first).to_be_visible()
    assert page.blocked_urls == []


def test_no_community_dialog_greets_a_new_browser(page: Any, platform: Any) -> None:
    """The UI asks the webserver (`shouldShowNux`) before it shows "Join the Dagster
    community"; the platform's instance turns it off (issue 26), so a fresh browser
    profile gets the asset page, not the dialog."""
    answer = page.request.post(f"{platform.dagster_url}/graphql",
                               data={"query": "{ shouldShowNux }"}).json()
    assert answer == {"data": {"shouldShowNux": False}}
    page.goto(f"{platform.dagster_url}/assets")
    expect(page.get_by_text("Join the Dagster community")).to_have_count(0)
