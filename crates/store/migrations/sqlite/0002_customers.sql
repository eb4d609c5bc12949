-- Customer archive: individuals, organizations and trade partners, their
-- contacts, travel intentions, tags, interactions, custom fields and
-- personal-data requests.
-- ID card and passport numbers are stored encrypted (AES-256-GCM, key kept
-- outside the database) with a keyed hash for exact search and duplicates.

CREATE TABLE customers (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    code             TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    name             TEXT NOT NULL,
    name_pinyin      TEXT NOT NULL,
    name_initials    TEXT NOT NULL,
    gender           TEXT,
    birthday         TEXT,
    lunar_birthday   TEXT,
    id_card_enc      TEXT,
    id_card_hash     TEXT,
    id_card_masked   TEXT,
    passport_enc     TEXT,
    passport_hash    TEXT,
    passport_masked  TEXT,
    passport_expiry  TEXT,
    employer         TEXT,
    title            TEXT,
    mobile           TEXT,
    mobile2          TEXT,
    landline         TEXT,
    email            TEXT,
    wechat           TEXT,
    fax              TEXT,
    province         TEXT,
    city             TEXT,
    district         TEXT,
    address          TEXT,
    hobbies          TEXT,
    diet             TEXT,
    room_pref        TEXT,
    seat_pref        TEXT,
    source           TEXT,
    source_detail    TEXT,
    partner_type     TEXT,
    industry         TEXT,
    license_no       TEXT,
    notes            TEXT,
    consent_email    INTEGER NOT NULL DEFAULT 0,
    consent_sms      INTEGER NOT NULL DEFAULT 0,
    consent_wechat   INTEGER NOT NULL DEFAULT 0,
    consent_phone    INTEGER NOT NULL DEFAULT 0,
    consent_at       INTEGER,
    owner_id         INTEGER NOT NULL REFERENCES users(id),
    team_id          INTEGER REFERENCES teams(id),
    stage            TEXT NOT NULL DEFAULT 'potential',
    grade            TEXT,
    custom           TEXT NOT NULL DEFAULT '{}',
    last_contact_at  INTEGER,
    merged_into_id   INTEGER REFERENCES customers(id),
    restricted       INTEGER NOT NULL DEFAULT 0,
    erased_at        INTEGER,
    created_by       INTEGER REFERENCES users(id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX customers_owner ON customers(owner_id);
CREATE INDEX customers_team ON customers(team_id);
CREATE INDEX customers_name ON customers(name);
CREATE INDEX customers_pinyin ON customers(name_pinyin);
CREATE INDEX customers_initials ON customers(name_initials);
CREATE INDEX customers_mobile ON customers(mobile);
CREATE INDEX customers_email ON customers(email);
CREATE INDEX customers_id_card ON customers(id_card_hash);
CREATE INDEX customers_passport ON customers(passport_hash);
CREATE INDEX customers_province_city ON customers(province, city);

-- Contact persons of organizations and partners.
CREATE TABLE customer_contacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    name         TEXT NOT NULL,
    role         TEXT NOT NULL,
    title        TEXT,
    mobile       TEXT,
    landline     TEXT,
    email        TEXT,
    wechat       TEXT,
    is_primary   INTEGER NOT NULL DEFAULT 0,
    notes        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX customer_contacts_customer ON customer_contacts(customer_id);

-- What a customer wants to do next (destination, period, budget, party).
CREATE TABLE customer_intentions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    destination  TEXT NOT NULL,
    period       TEXT,
    budget_fen   INTEGER,
    party_size   INTEGER,
    status       TEXT NOT NULL DEFAULT 'open',
    notes        TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX customer_intentions_customer ON customer_intentions(customer_id);

CREATE TABLE customer_tags (
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    tag          TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags(tag);

-- Every contact with a customer, by any department.
CREATE TABLE interactions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    channel      TEXT NOT NULL,
    direction    TEXT NOT NULL,
    department   TEXT NOT NULL,
    summary      TEXT NOT NULL,
    occurred_at  INTEGER NOT NULL,
    staff_id     INTEGER REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX interactions_customer ON interactions(customer_id, occurred_at);

-- Fields administrators add per customer kind, and which fields are required.
CREATE TABLE customer_fields (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    key          TEXT NOT NULL,
    label_zh     TEXT NOT NULL,
    label_en     TEXT NOT NULL,
    field_type   TEXT NOT NULL,
    choices      TEXT NOT NULL DEFAULT '[]',
    required     INTEGER NOT NULL DEFAULT 0,
    position     INTEGER NOT NULL DEFAULT 0,
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1,
    UNIQUE (kind, key)
);

CREATE TABLE customer_required_fields (
    kind         TEXT NOT NULL,
    field        TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (kind, field)
);

-- Personal-data requests (PIPL): export or erasure, with the decision.
CREATE TABLE pii_requests (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    kind          TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    reason        TEXT NOT NULL,
    decision      TEXT,
    decision_note TEXT,
    decided_by    INTEGER REFERENCES users(id),
    decided_at    INTEGER,
    created_by    INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX pii_requests_customer ON pii_requests(customer_id);

-- The last list view each person used (filters, sort, columns).
CREATE TABLE saved_views (
    user_id     INTEGER NOT NULL REFERENCES users(id),
    list        TEXT NOT NULL,
    query       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, list)
);

CREATE TABLE customer_code_seq (
    name        TEXT PRIMARY KEY,
    next_value  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- Built-in roles that exist already get the customer permissions (new
-- installations get them from the role defaults at start-up).
INSERT INTO role_permissions (role_id, permission, scope, created_at, updated_at)
SELECT r.id, g.permission, g.scope, 0, 0
FROM roles r JOIN (
              SELECT 'admin' AS role, 'customers.read' AS permission, 'all' AS scope
    UNION ALL SELECT 'admin', 'customers.write', 'all'
    UNION ALL SELECT 'admin', 'customers.export', 'all'
    UNION ALL SELECT 'admin', 'customers.reassign', 'all'
    UNION ALL SELECT 'admin', 'customers.merge', 'all'
    UNION ALL SELECT 'admin', 'customers.pii', 'all'
    UNION ALL SELECT 'admin', 'customers.privacy', 'all'
    UNION ALL SELECT 'admin', 'customers.configure', 'all'
    UNION ALL SELECT 'manager', 'customers.read', 'team'
    UNION ALL SELECT 'manager', 'customers.write', 'team'
    UNION ALL SELECT 'manager', 'customers.export', 'team'
    UNION ALL SELECT 'manager', 'customers.reassign', 'team'
    UNION ALL SELECT 'manager', 'customers.merge', 'team'
    UNION ALL SELECT 'manager', 'customers.pii', 'team'
    UNION ALL SELECT 'sales', 'customers.read', 'own'
    UNION ALL SELECT 'sales', 'customers.write', 'own'
    UNION ALL SELECT 'sales', 'customers.pii', 'own'
    UNION ALL SELECT 'operator', 'customers.read', 'all'
    UNION ALL SELECT 'operator', 'customers.pii', 'all'
    UNION ALL SELECT 'service', 'customers.read', 'all'
    UNION ALL SELECT 'service', 'customers.write', 'all'
    UNION ALL SELECT 'finance', 'customers.read', 'all'
    UNION ALL SELECT 'front_desk', 'customers.read', 'all'
    UNION ALL SELECT 'front_desk', 'customers.write', 'all'
    UNION ALL SELECT 'front_desk', 'customers.pii', 'all'
) g ON g.role = r.code AND r.builtin = 1
WHERE NOT EXISTS (SELECT 1 FROM role_permissions p WHERE p.role_id = r.id AND p.permission = g.permission);
