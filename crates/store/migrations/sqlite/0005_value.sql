-- Customer value: the settings of the value engine, evaluation runs (盘点)
-- with one snapshot row per customer per run, grades pinned by managers, and
-- the alerts each run raises, assigned to the customer's owner as tasks.
-- Dates are ISO text, instants epoch milliseconds, money integer 分;
-- probabilities and expectations are model outputs, kept as REAL.

CREATE TABLE value_settings (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    config      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE value_runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    as_of         TEXT NOT NULL,
    trigger_kind  TEXT NOT NULL,
    actor_id      INTEGER REFERENCES users(id),
    actor_name    TEXT NOT NULL,
    settings      TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'running',
    customers     INTEGER NOT NULL DEFAULT 0,
    buyers        INTEGER NOT NULL DEFAULT 0,
    orders        INTEGER NOT NULL DEFAULT 0,
    alerts        INTEGER NOT NULL DEFAULT 0,
    summary       TEXT NOT NULL DEFAULT '{}',
    error         TEXT,
    started_at    INTEGER NOT NULL,
    finished_at   INTEGER,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX value_runs_as_of ON value_runs(status, as_of);

CREATE TABLE customer_values (
    run_id             INTEGER NOT NULL REFERENCES value_runs(id),
    customer_id        INTEGER NOT NULL REFERENCES customers(id),
    grade              TEXT NOT NULL,
    computed_grade     TEXT NOT NULL,
    quadrant           TEXT,
    stage              TEXT NOT NULL,
    segment            TEXT,
    r_score            INTEGER,
    f_score            INTEGER,
    m_score            INTEGER,
    frequency          INTEGER NOT NULL,
    recency_days       INTEGER NOT NULL,
    t_days             INTEGER NOT NULL,
    occasions          INTEGER NOT NULL,
    last_purchase      TEXT,
    cycle_due          TEXT,
    monetary           INTEGER NOT NULL,
    window_revenue     INTEGER NOT NULL,
    loyalty            REAL,
    p_alive            REAL,
    expected_90d       REAL,
    expected_365d      REAL,
    next_from          TEXT,
    next_to            TEXT,
    direction          TEXT,
    direction_reason   TEXT,
    clv                INTEGER,
    PRIMARY KEY (run_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_values_customer ON customer_values(customer_id, run_id);

CREATE TABLE grade_pins (
    customer_id  INTEGER PRIMARY KEY REFERENCES customers(id),
    grade        TEXT NOT NULL,
    reason       TEXT NOT NULL,
    pinned_by    INTEGER REFERENCES users(id),
    pinned_at    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE value_alerts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id       INTEGER NOT NULL REFERENCES value_runs(id),
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    owner_id     INTEGER NOT NULL REFERENCES users(id),
    team_id      INTEGER REFERENCES teams(id),
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    closed_by    INTEGER REFERENCES users(id),
    closed_at    INTEGER,
    note         TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX value_alerts_owner ON value_alerts(owner_id, status);
CREATE INDEX value_alerts_customer ON value_alerts(customer_id, kind, status);
CREATE INDEX value_alerts_run ON value_alerts(run_id);

-- Grants of the value area for existing installations (new ones get the
-- role defaults; a store test keeps the two equal).
INSERT INTO role_permissions (role_id, permission, scope, created_at, updated_at)
SELECT r.id, g.permission, g.scope, 0, 0
FROM roles r JOIN (
              SELECT 'admin' AS role, 'value.read' AS permission, 'all' AS scope
    UNION ALL SELECT 'admin', 'value.manage', 'all'
    UNION ALL SELECT 'manager', 'value.read', 'team'
    UNION ALL SELECT 'manager', 'value.manage', 'all'
    UNION ALL SELECT 'sales', 'value.read', 'own'
) g ON g.role = r.code AND r.builtin = 1
WHERE NOT EXISTS (SELECT 1 FROM role_permissions p WHERE p.role_id = r.id AND p.permission = g.permission);
