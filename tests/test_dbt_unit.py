"""The dbt unit tests (the `unit_tests:` of dbt_project/models/**/*.yml) pin every rule of docs/spec.md section 2.

They run in a real `dbt build` on an empty warehouse (dbt unit tests read the types of their input
relations from the database, so the raw tables must exist).
"""

from __future__ import annotations

import json

import pytest

try:
    from tests.dbt_helpers import create_warehouse, run_dbt
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from dbt_helpers import create_warehouse, run_dbt

# One per rule of docs/spec.md section 2 (and the shape of each mart); a new unit test is added here too.
EXPECTED_UNIT_TESTS = {
    # staging: deduplication and normalisation
    "test_repeated_send_line_is_one_reminder_and_phone_stays_in_raw",
    "test_duplicated_status_webhook_is_kept_once",
    "test_button_and_button_reply_are_taps_and_text_is_not",
    "test_repeated_click_id_is_one_click",
    "test_order_form_id_is_normalised_and_a_version_sent_twice_is_kept_once",
    # the reminder
    "test_link_clicks_and_button_taps_are_each_one_click",
    "test_delivered_at_is_the_earliest_of_delivered_read_and_clicks",
    "test_read_without_delivered_is_delivered_at_the_read",
    "test_failed_means_a_failed_status_and_no_delivery",
    "test_clicks_are_link_hits_plus_button_taps_and_checkout_items_in_currency_units",
    "test_local_days_cross_midnight_in_the_configured_time_zone",
    "test_local_days_across_the_dst_changes_of_new_york",
    # the purchase
    "test_latest_version_wins_even_when_it_arrives_first",
    "test_canceled_after_an_update_is_no_purchase",
    "test_split_orders_are_one_purchase",
    "test_order_without_group_is_its_own_purchase_and_shipping_is_not_in_the_total",
    # the attribution
    "test_assisted_window_is_72_hours_exactly_and_starts_after_delivery",
    "test_click_window_is_15_days_exactly_and_starts_after_the_click",
    "test_click_through_takes_precedence_over_assisted_and_counts_once",
    "test_latest_click_wins_then_later_delivery_then_larger_message_id",
    "test_later_delivery_wins_for_assisted_then_larger_message_id",
    "test_tap_after_the_order_is_not_a_click_through",
    "test_attribution_windows_follow_the_vars",
    # daily metrics and the marts
    "test_every_campaign_has_every_day_from_its_first_event_to_the_last_data_day",
    "test_each_event_is_counted_on_its_own_day_with_zeros_included",
    "test_clicks_count_on_their_local_day_as_fct_clicks_dates_them",
    "test_clicks_fall_on_their_local_day_across_new_york_dst_changes",
    "test_fct_clicks_has_each_click_with_its_reminders_campaign_and_shopper",
    "test_a_purchase_without_a_currency_takes_its_campaigns",
    "test_cohort_counts_what_happened_to_the_reminders_sent_that_day",
    "test_fct_reminders_has_the_lifecycle_and_no_phone",
    "test_fct_conversions_joins_the_purchase_and_its_reminder",
    "test_campaign_history_carries_edits_and_pauses_forward",
    "test_dim_campaigns_is_the_current_version_with_its_lifetime",
}


@pytest.fixture(scope="module")
def built_empty_warehouse(tmp_path_factory):
    """An empty warehouse after a whole `dbt build`: unit tests, models and data tests."""
    root = tmp_path_factory.mktemp("dbt_unit")
    warehouse = create_warehouse(root / "warehouse.duckdb")
    result = run_dbt(warehouse, root / "target", "build")
    return warehouse, root, result


def test_dbt_build_passes_every_unit_test(built_empty_warehouse):
    _, _, result = built_empty_warehouse
    assert result.success, result.output[-5000:]
    unit_tests = {uid.rsplit(".", 1)[-1]: status for uid, status in result.statuses("unit_test").items()}
    failing = {name: status for name, status in unit_tests.items() if status != "pass"}
    assert not failing, failing
    assert set(unit_tests) == EXPECTED_UNIT_TESTS
    assert len(unit_tests) == 34


def test_every_unit_test_of_the_project_is_in_the_expected_list(built_empty_warehouse):
    _, root, _ = built_empty_warehouse
    manifest = json.loads((root / "target" / "manifest.json").read_text())
    declared = {node["name"] for node in manifest["unit_tests"].values()}
    assert declared == EXPECTED_UNIT_TESTS


def test_unit_tests_alone_run_against_the_built_warehouse(built_empty_warehouse):
    # `dbt test`, not `dbt build`: dbt 1.11's build selects nothing with test_type:unit alone.
    warehouse, root, _ = built_empty_warehouse
    result = run_dbt(warehouse, root / "unit_only", "test", "--select", "test_type:unit")
    assert result.success, result.output[-5000:]
    statuses = result.statuses("unit_test")
    assert len(statuses) == len(EXPECTED_UNIT_TESTS)
    assert set(statuses.values()) == {"pass"}


def test_unit_tests_ignore_the_window_of_days_a_run_rebuilds(built_empty_warehouse):
    """A `campaigns run --start --end` passes min_date/max_date: the rules must still hold."""
    warehouse, root, _ = built_empty_warehouse
    result = run_dbt(warehouse, root / "unit_window", "test", "--select", "test_type:unit",
                     dbt_vars={"min_date": "2030-01-01", "max_date": "2030-01-02"})
    assert result.success, result.output[-5000:]
    assert set(result.statuses("unit_test").values()) == {"pass"}
