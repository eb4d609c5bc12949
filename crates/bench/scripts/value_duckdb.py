"""The DuckDB baseline of `keyuan-bench value`: RFM quintile scores and ABC
grades for every customer of an orders CSV, and nothing else. Prints one JSON
line with the times and the grade counts.

Usage: python3 value_duckdb.py ORDERS.csv AS_OF WINDOW_DAYS

ORDERS.csv has the header customer_id,order_date,amount,status (amount in 分,
dates ISO). The definitions are Keyuan's (domain::value):
- only orders up to AS_OF that are neither cancelled nor refunded count;
- RFM over every buyer: recency = days from the last order day to AS_OF,
  frequency = distinct order days (purchase occasions), monetary = revenue;
  scores are NTILE(5) over each (recency descending, so recent is 5);
- ABC ranks customers by revenue of the last WINDOW_DAYS days (largest first,
  ties by customer id): with P the revenue of those ranked before and S the
  total, A while P/S < 50 %, B < 80 %, C < 95 %, else D (exact integers).

Two timings: `query` is the whole computation in one statement straight from
the CSV (reading and parsing included), materialised as a table; `read` is
loading the same CSV into a table alone, measured separately afterwards.
"""

import json
import sys
import time

started = time.perf_counter()
import duckdb  # noqa: E402

imported = time.perf_counter()
path, as_of, window_days = sys.argv[1], sys.argv[2], int(sys.argv[3])
if "'" in path:
    sys.exit("the CSV path must not contain a quote")

con = duckdb.connect()
threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
source = (
    f"read_csv('{path}', header = true, "
    "columns = {'customer_id': 'BIGINT', 'order_date': 'DATE', 'amount': 'BIGINT', 'status': 'VARCHAR'})"
)

QUERY = f"""
CREATE TABLE result AS
WITH o AS (
    SELECT customer_id, order_date, amount FROM {source}
    WHERE status NOT IN ('cancelled', 'refunded') AND order_date <= DATE '{as_of}'
),
c AS (
    SELECT customer_id,
           DATE '{as_of}' - MAX(order_date) AS recency_days,
           COUNT(DISTINCT order_date) AS frequency,
           SUM(amount) AS monetary,
           SUM(amount) FILTER (WHERE order_date > DATE '{as_of}' - INTERVAL {window_days} DAY) AS window_revenue
    FROM o GROUP BY customer_id
),
ranked AS (
    SELECT *,
           NTILE(5) OVER (ORDER BY recency_days DESC) AS r_score,
           NTILE(5) OVER (ORDER BY frequency) AS f_score,
           NTILE(5) OVER (ORDER BY monetary) AS m_score,
           COALESCE(SUM(GREATEST(COALESCE(window_revenue, 0), 0)) OVER (
               ORDER BY COALESCE(window_revenue, 0) DESC, customer_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before,
           SUM(GREATEST(COALESCE(window_revenue, 0), 0)) OVER () AS total
    FROM c
)
SELECT customer_id, recency_days, frequency, monetary, r_score, f_score, m_score,
       CASE WHEN COALESCE(window_revenue, 0) <= 0 THEN 'D'
            WHEN before::HUGEINT * 10000 < 5000 * total::HUGEINT THEN 'A'
            WHEN before::HUGEINT * 10000 < 8000 * total::HUGEINT THEN 'B'
            WHEN before::HUGEINT * 10000 < 9500 * total::HUGEINT THEN 'C'
            ELSE 'D' END AS grade
FROM ranked
"""

t0 = time.perf_counter()
con.execute(QUERY)
t1 = time.perf_counter()
rows = con.execute("SELECT COUNT(*) FROM result").fetchone()[0]
grades = dict(con.execute("SELECT grade, COUNT(*) FROM result GROUP BY grade").fetchall())

t2 = time.perf_counter()
con.execute(f"CREATE TABLE raw AS SELECT * FROM {source}")
t3 = time.perf_counter()
orders = con.execute("SELECT COUNT(*) FROM raw").fetchone()[0]

print(
    json.dumps(
        {
            "query_seconds": t1 - t0,
            "read_seconds": t3 - t2,
            "import_seconds": imported - started,
            "customers": rows,
            "orders_in_file": orders,
            "grades": grades,
            "threads": threads,
            "versions": f"DuckDB {duckdb.__version__}, Python {sys.version.split()[0]}",
        }
    )
)
