"""The real extracts end to end, row-level rejects with physical line numbers, a bad file."""

from __future__ import annotations

from tests.late_payments.conftest import REAL_EXTRACTS, checks_of, materialize, write_csv


def test_real_extracts(real_extracts, paths, warehouse):
    assert sum(1 for _ in (real_extracts / "accounts.csv").open()) == 401  # 2 lines a record
    result = materialize(paths, warehouse)
    assert result.success
    with warehouse.get_connection() as conn:
        one = conn.execute
        assert one("SELECT count(*) FROM late_payments.stg_accounts").fetchone()[0] == 200
        rows, distinct, accounts = one(
            "SELECT count(*), count(DISTINCT inv_id), count(DISTINCT acct_id) "
            "FROM late_payments.invoice_features"
        ).fetchone()
        assert (rows, distinct, accounts) == (9685, 9685, 200)
        assert one("SELECT count(*) FROM late_payments.rejected_rows").fetchone()[0] == 0
        address = one(
            "SELECT company_address FROM late_payments.stg_accounts WHERE account_id = 1"
        ).fetchone()[0]
        assert address == "114 York Fork\nNorth Shelbyborough, SD 08296"
        # invariants: every invoice paid -> is_late known; window counts consistent
        bad = one(
            """SELECT count(*) FILTER (is_late IS NULL),
                      count(*) FILTER (num_inv_120d >= cum_tot_inv_acct),
                      count(*) FILTER (inv_items = 0 OR inv_total <= 0)
               FROM late_payments.invoice_features"""
        ).fetchone()
        assert bad == (0, 0, 0)
        # cum_tot_inv_acct of an account's last invoice = its invoice count
        assert (
            one(
                """SELECT count(*) FROM (SELECT acct_id, count(*) n, max(cum_tot_inv_acct) m
                   FROM late_payments.invoice_features GROUP BY acct_id) WHERE n <> m"""
            ).fetchone()[0]
            == 0
        )
    checks = checks_of(result)
    assert len(checks) == 7 and all(c.passed for c in checks.values())


MESSY_ACCOUNTS = (
    "account_id,company_name,company_address,contact_person,contact_phone,gender,joining_date\n"
    '1,"A, Inc","1 Road\nTown",Bob,123,M,2019-01-01\n'  # lines 2-3
    " 2 , B ,x,Al,1,F, 2019-02-01 \n"  # line 4: whitespace only, loads
    'three,C,"y\nz\nw",Q,1,F,2019-01-01\n'  # lines 5-7: bad id
    "4,D,short\n"  # line 8: too few fields
    "5,E,e,E,1,M,notadate\n"  # line 9
    "1,dup,a,b,c,M,2019-01-01\n"  # line 10: duplicate of line 2
    "6,F,f,F,1,M,2019-03-01\n"
)


def test_bad_rows_are_kept_with_physical_line_and_reason(real_extracts, paths, warehouse):
    write_csv(real_extracts, "accounts.csv", MESSY_ACCOUNTS)
    write_csv(
        real_extracts,
        "invoice_line_items.csv",
        "invoice_id,item_id,quantity\n1,NOPE,1\n999999,0-365-25576-9,2\n1,0-365-25576-9,-1\n",
    )
    result = materialize(paths, warehouse)
    assert result.success  # bad rows do not fail the run
    with warehouse.get_connection() as conn:
        rejected = conn.execute(
            "SELECT file, line, reason FROM late_payments.rejected_rows ORDER BY file, line"
        ).fetchall()
        staged = conn.execute(
            "SELECT account_id, company_name FROM late_payments.stg_accounts ORDER BY 1"
        ).fetchall()
    assert staged == [(1, "A, Inc"), (2, "B"), (6, "F")]
    assert [(f, line) for f, line, _ in rejected] == [
        ("accounts.csv", 5), ("accounts.csv", 8), ("accounts.csv", 9), ("accounts.csv", 10),
        ("invoice_line_items.csv", 4),
    ]  # fmt: skip
    reasons = {line: reason for _, line, reason in rejected}
    assert "account_id is not bigint: three" in reasons[5]
    assert "Expected Number of Columns" in reasons[8]
    assert "joining_date is not date" in reasons[9]
    assert reasons[10] == "duplicate account_id 1 (first at line 2)"
    assert "quantity out of range" in reasons[4]
    checks = checks_of(result)
    ref = checks["line_items_reference_known_invoices_and_skus"]
    assert not ref.passed
    assert ref.metadata["lines_with_unknown_sku"].value == 1
    assert ref.metadata["lines_with_unknown_invoice"].value == 1
    assert ref.metadata["unknown_item_ids"].value == "NOPE"
    assert not checks["unique_account_id"].passed  # the duplicate is reported
    mat = result.asset_materializations_for_node("late_payments__stg_accounts")[0]
    assert mat.metadata["rejected_rows"].value == 4


def test_bad_file_is_moved_aside_and_the_run_fails_naming_it(real_extracts, paths, warehouse):
    write_csv(real_extracts, "invoices.csv", "invoice_id,account_id,payment_dates\n1,1,\n")
    result = materialize(paths, warehouse, raise_on_error=False)
    assert not result.success
    failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1
    assert "invoices.csv" in failures[0] and "date_issued" in failures[0]
    assert not (real_extracts / "invoices.csv").exists()
    rejected = paths.landing("retail") / "_rejected"
    assert (rejected / "invoices.csv").exists()
    reason = (rejected / "invoices.csv.reason.txt").read_text()
    assert "missing column(s) date_issued" in reason
    # the other extracts staged fine; nothing downstream of the bad file ran
    assert result.asset_materializations_for_node("late_payments__stg_accounts")
    assert not result.asset_materializations_for_node("late_payments__invoice_features")


def test_empty_file_is_a_bad_file(real_extracts, paths, warehouse):
    write_csv(real_extracts, "skus.csv", "")
    result = materialize(paths, warehouse, raise_on_error=False)
    assert not result.success
    reason = (paths.landing("retail") / "_rejected" / "skus.csv.reason.txt").read_text()
    assert reason.startswith("skus.csv:")
    assert REAL_EXTRACTS.joinpath("skus.csv").exists()  # the shared data is untouched
