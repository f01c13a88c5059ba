"""Invoice balances: an invoice's credited and allocated sums and its status, kept by database
triggers in a small mutable table (`InvoiceBalance`) beside the immutable documents.

Why triggers and not the services: the balance changes with exactly two INSERTs, a document
that names an invoice (`invoice_id`: credit notes) and a receipt's allocation, and both tables
are append-only (documents.triggers). An AFTER INSERT trigger updates the balance in the same
statement, so it cannot be forgotten by any writer: the issuing service (no line of it
changes), the bulk generator `bench/volume.py` (COPY and `executemany` fire row triggers too),
a restore. Money is kept in integer fils (exact on SQLite too, whose decimals are REAL).

Status, as `selectors.with_status_computed` computes it from the documents: "credited" when
the credit notes cover the total; else "paid" when receipts were allocated and they cover what
the credit notes left; else "unpaid".

`balances_problems` compares every stored balance with the sums computed from the documents
(`khutwa documents-verify` runs it). Installed by the migration documents/0007, which also
fills the table for the invoices already issued.
"""

from __future__ import annotations

from typing import Any

from khutwa.db_triggers import TriggerSet

BALANCE = "documents_invoicebalance"
TABLES = ("documents_document", "documents_allocation")


def fils(column: str) -> str:
    """An amount column (BHD, 3 places) as integer fils, the same on both engines."""
    return f"CAST(ROUND({column} * 1000) AS BIGINT)"


def status_sql(total: str, credited: str, allocated: str) -> str:
    return (
        f"CASE WHEN {credited} >= {total} THEN 'credited' "
        f"WHEN {allocated} > 0 AND {allocated} >= {total} - {credited} THEN 'paid' "
        "ELSE 'unpaid' END"
    )


def _opened() -> str:
    """The balance of an invoice just stored (NEW is the document)."""
    total = fils("NEW.total")
    return (
        f"INSERT INTO {BALANCE} (invoice_id, licence_id, issued_at, total_fils, credited_fils, "  # noqa: S608
        f"allocated_fils, status) VALUES (NEW.id, NEW.licence_id, NEW.issued_at, {total}, 0, 0, "
        f"{status_sql(total, '0', '0')});"
    )


def _added(column: str, amount: str, invoice: str) -> str:
    """Add `amount` to the balance's `column` of `invoice` and derive its status again (the SET
    expressions read the row as it was, so the status uses the new sum spelled out)."""
    sums = {"credited_fils": "credited_fils", "allocated_fils": "allocated_fils"}
    sums[column] = f"({column} + {amount})"
    status = status_sql("total_fils", sums["credited_fils"], sums["allocated_fils"])
    return (
        f"UPDATE {BALANCE} SET {column} = {column} + {amount}, status = {status} "  # noqa: S608
        f"WHERE invoice_id = {invoice};"
    )


_CREDITED = _added("credited_fils", fils("NEW.total"), "NEW.invoice_id")
_ALLOCATED = _added("allocated_fils", fils("NEW.amount"), "NEW.invoice_id")


def _pg_install() -> str:
    return "\n".join(
        [
            f"""CREATE OR REPLACE FUNCTION documents_balance_document() RETURNS trigger AS $$
BEGIN
    IF NEW.type = 'invoice' THEN
        {_opened()}
    END IF;
    IF NEW.invoice_id IS NOT NULL THEN
        {_CREDITED}
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;""",
            f"""CREATE OR REPLACE FUNCTION documents_balance_allocation() RETURNS trigger AS $$
BEGIN
    {_ALLOCATED}
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;""",
            "DROP TRIGGER IF EXISTS documents_document_balance ON documents_document;",
            "DROP TRIGGER IF EXISTS documents_allocation_balance ON documents_allocation;",
            # WHEN: the other documents' INSERTs do not call the function at all.
            "CREATE TRIGGER documents_document_balance AFTER INSERT ON documents_document FOR EACH ROW "
            "WHEN (NEW.type = 'invoice' OR NEW.invoice_id IS NOT NULL) "
            "EXECUTE FUNCTION documents_balance_document();",
            "CREATE TRIGGER documents_allocation_balance AFTER INSERT ON documents_allocation FOR EACH ROW "
            "EXECUTE FUNCTION documents_balance_allocation();",
        ]
    )


def _pg_remove() -> str:
    return "\n".join(
        [
            "DROP TRIGGER IF EXISTS documents_document_balance ON documents_document;",
            "DROP TRIGGER IF EXISTS documents_allocation_balance ON documents_allocation;",
            "DROP FUNCTION IF EXISTS documents_balance_document();",
            "DROP FUNCTION IF EXISTS documents_balance_allocation();",
        ]
    )


def _sqlite_triggers() -> dict[str, str]:
    return {
        "documents_document_balance_opened": (
            "CREATE TRIGGER IF NOT EXISTS documents_document_balance_opened AFTER INSERT ON "
            f"documents_document WHEN NEW.type = 'invoice' BEGIN {_opened()} END;"
        ),
        "documents_document_balance_credited": (
            "CREATE TRIGGER IF NOT EXISTS documents_document_balance_credited AFTER INSERT ON "
            f"documents_document WHEN NEW.invoice_id IS NOT NULL BEGIN {_CREDITED} END;"
        ),
        "documents_allocation_balance": (
            "CREATE TRIGGER IF NOT EXISTS documents_allocation_balance AFTER INSERT ON "
            f"documents_allocation BEGIN {_ALLOCATED} END;"
        ),
    }


def _pg_trigger_names() -> list[str]:
    return ["documents_document_balance", "documents_allocation_balance"]


TRIGGERS = TriggerSet(TABLES, _pg_install, _pg_remove, _sqlite_triggers, _pg_trigger_names)
triggers_install = TRIGGERS.install
triggers_remove = TRIGGERS.remove
triggers_missing = TRIGGERS.missing

# Every invoice's balance computed from the documents (the backfill, and the check).
_COMPUTED = f"""
SELECT d.id, d.licence_id, d.issued_at, {fils("d.total")} AS total_fils,
       COALESCE((SELECT SUM({fils("c.total")}) FROM documents_document c
                 WHERE c.invoice_id = d.id), 0) AS cr,
       COALESCE((SELECT SUM({fils("a.amount")}) FROM documents_allocation a
                 WHERE a.invoice_id = d.id), 0) AS al
FROM documents_document d WHERE d.type = 'invoice'
"""  # noqa: S608 - constants only


def balances_fill(connection: Any) -> None:
    """Write the balance of every invoice that has none (the migration's backfill)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {BALANCE} (invoice_id, licence_id, issued_at, total_fils, credited_fils, "  # noqa: S608
            "allocated_fils, status) SELECT x.id, x.licence_id, x.issued_at, x.total_fils, x.cr, x.al, "
            f"{status_sql('x.total_fils', 'x.cr', 'x.al')} FROM ({_COMPUTED}) AS x "
            f"WHERE NOT EXISTS (SELECT 1 FROM {BALANCE} b WHERE b.invoice_id = x.id)"
        )


def balances_problems(licence_id: int | None = None) -> list[str]:
    """Invoices whose stored balance differs from the sums computed from the documents (or that
    have no balance): one line each, empty when all agree."""
    from django.db import connection

    where = "" if licence_id is None else " WHERE x.licence_id = %s"
    sql = (
        f"SELECT x.id, x.total_fils, x.cr, x.al, {status_sql('x.total_fils', 'x.cr', 'x.al')}, "  # noqa: S608
        f"b.total_fils, b.credited_fils, b.allocated_fils, b.status FROM ({_COMPUTED}) AS x "
        f"LEFT JOIN {BALANCE} b ON b.invoice_id = x.id{where}"
    )
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [] if licence_id is None else [licence_id])
        for pk, total, credited, allocated, status, b_total, b_credited, b_allocated, b_status in cursor:
            computed = (int(total), int(credited), int(allocated), status)
            if b_status is None:
                problems.append(f"invoice {pk}: no balance")
            elif computed != (int(b_total), int(b_credited), int(b_allocated), b_status):
                problems.append(
                    f"invoice {pk}: balance {b_total}/{b_credited}/{b_allocated} {b_status}, "
                    f"documents say {total}/{credited}/{allocated} {status}"
                )
        if licence_id is None:
            cursor.execute(
                f"SELECT b.invoice_id FROM {BALANCE} b LEFT JOIN documents_document d "  # noqa: S608
                "ON d.id = b.invoice_id WHERE d.id IS NULL"
            )
            problems += [f"invoice {pk}: a balance but no invoice" for (pk,) in cursor]
    return problems
