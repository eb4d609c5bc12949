-- Travel business: the resource library (attractions, accommodations,
-- transport, routes) and suppliers; products; tour departures with their
-- travellers; opportunities; versioned quotes; orders (hotel stays too) with
-- outlet charges; receipts and refunds. Money is integer 分; dates are ISO
-- text; instants epoch milliseconds.

-- Numbers shown to people (order D2026-000123, quote Q2026-000045 …), one
-- counter per name (`order-2026`), taken inside the writing transaction.
CREATE TABLE number_seq (
    name        TEXT PRIMARY KEY,
    next_value  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE suppliers (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    name_pinyin    TEXT NOT NULL DEFAULT '',
    contact_name   TEXT,
    phone          TEXT,
    email          TEXT,
    province       TEXT,
    city           TEXT,
    address        TEXT,
    contract_no    TEXT,
    contract_from  TEXT,
    contract_to    TEXT,
    payment_terms  TEXT,
    commission_bp  INTEGER,
    notes          TEXT,
    active         INTEGER NOT NULL DEFAULT 1,
    created_by     INTEGER REFERENCES users(id),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX suppliers_name ON suppliers(name);

CREATE TABLE supplier_contacts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    supplier_id  INTEGER NOT NULL REFERENCES suppliers(id),
    name         TEXT NOT NULL,
    role         TEXT,
    mobile       TEXT,
    email        TEXT,
    wechat       TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX supplier_contacts_supplier ON supplier_contacts(supplier_id);

-- One table for the library's kinds: attraction, accommodation, transport,
-- route. What only one kind has (star rating and room types; mode and
-- carrier; the day-by-day itinerary) is JSON in `details`, checked by
-- domain::travel::resource before it is written.
CREATE TABLE resources (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    name_pinyin  TEXT NOT NULL DEFAULT '',
    country      TEXT,
    province     TEXT,
    city         TEXT,
    address      TEXT,
    supplier_id  INTEGER REFERENCES suppliers(id),
    details      TEXT NOT NULL DEFAULT '{}',
    description  TEXT,
    active       INTEGER NOT NULL DEFAULT 1,
    created_by   INTEGER REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX resources_kind_name ON resources(kind, name);
CREATE INDEX resources_place ON resources(province, city);

CREATE TABLE products (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    code          TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    name_pinyin   TEXT NOT NULL DEFAULT '',
    product_type  TEXT NOT NULL,
    country       TEXT,
    region        TEXT,
    city          TEXT,
    destination   TEXT,
    route_id      INTEGER REFERENCES resources(id),
    supplier_id   INTEGER REFERENCES suppliers(id),
    days          INTEGER NOT NULL DEFAULT 1,
    adult_price   INTEGER NOT NULL CHECK (adult_price >= 0),
    child_price   INTEGER NOT NULL CHECK (child_price >= 0),
    cost_price    INTEGER NOT NULL DEFAULT 0 CHECK (cost_price >= 0),
    inclusions    TEXT,
    exclusions    TEXT,
    description   TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    created_by    INTEGER REFERENCES users(id),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX products_type ON products(product_type);

-- Seats: `booked` moves only with a conditional UPDATE in the booking's
-- transaction; the CHECK is the last line against overbooking on both
-- engines, whatever the application does.
CREATE TABLE departures (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    code            TEXT NOT NULL UNIQUE,
    product_id      INTEGER NOT NULL REFERENCES products(id),
    departure_date  TEXT NOT NULL,
    return_date     TEXT NOT NULL,
    leader_id       INTEGER REFERENCES users(id),
    leader_name     TEXT,
    guide_name      TEXT,
    capacity        INTEGER NOT NULL CHECK (capacity > 0),
    booked          INTEGER NOT NULL DEFAULT 0 CHECK (booked >= 0 AND booked <= capacity),
    adult_price     INTEGER NOT NULL CHECK (adult_price >= 0),
    child_price     INTEGER NOT NULL CHECK (child_price >= 0),
    status          TEXT NOT NULL DEFAULT 'planning',
    notes           TEXT,
    created_by      INTEGER REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    CHECK (return_date >= departure_date)
);
CREATE INDEX departures_date ON departures(departure_date);
CREATE INDEX departures_product ON departures(product_id, departure_date);

CREATE TABLE opportunities (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    title           TEXT NOT NULL,
    product_id      INTEGER REFERENCES products(id),
    product_type    TEXT,
    destination     TEXT,
    adults          INTEGER NOT NULL DEFAULT 1 CHECK (adults >= 0),
    children        INTEGER NOT NULL DEFAULT 0 CHECK (children >= 0),
    budget          INTEGER CHECK (budget IS NULL OR budget >= 0),
    expected_value  INTEGER NOT NULL DEFAULT 0 CHECK (expected_value >= 0),
    close_date      TEXT,
    stage           TEXT NOT NULL DEFAULT 'new',
    lost_reason     TEXT,
    source          TEXT,
    owner_id        INTEGER NOT NULL REFERENCES users(id),
    team_id         INTEGER REFERENCES teams(id),
    order_id        INTEGER,
    notes           TEXT,
    closed_at       INTEGER,
    created_by      INTEGER REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX opportunities_customer ON opportunities(customer_id);
CREATE INDEX opportunities_owner ON opportunities(owner_id, stage);

-- A quote's header; every revision of its content is a row of
-- quote_versions (never updated), `current_version` the latest.
CREATE TABLE quotes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    number           TEXT NOT NULL UNIQUE,
    customer_id      INTEGER NOT NULL REFERENCES customers(id),
    opportunity_id   INTEGER REFERENCES opportunities(id),
    title            TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'draft',
    current_version  INTEGER NOT NULL DEFAULT 1,
    valid_until      TEXT,
    total            INTEGER NOT NULL DEFAULT 0,
    owner_id         INTEGER NOT NULL REFERENCES users(id),
    team_id          INTEGER REFERENCES teams(id),
    sent_at          INTEGER,
    decided_at       INTEGER,
    created_by       INTEGER REFERENCES users(id),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX quotes_customer ON quotes(customer_id);
CREATE INDEX quotes_opportunity ON quotes(opportunity_id);

CREATE TABLE quote_versions (
    quote_id     INTEGER NOT NULL REFERENCES quotes(id),
    version_no   INTEGER NOT NULL,
    title        TEXT NOT NULL,
    valid_until  TEXT,
    notes        TEXT,
    lines        TEXT NOT NULL,
    total        INTEGER NOT NULL,
    created_by   INTEGER REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (quote_id, version_no)
);

CREATE TABLE orders (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    order_no        TEXT NOT NULL UNIQUE,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    opportunity_id  INTEGER REFERENCES opportunities(id),
    quote_id        INTEGER REFERENCES quotes(id),
    quote_version   INTEGER,
    departure_id    INTEGER REFERENCES departures(id),
    product_id      INTEGER REFERENCES products(id),
    product_type    TEXT NOT NULL,
    destination     TEXT,
    order_date      TEXT NOT NULL,
    travel_date     TEXT,
    return_date     TEXT,
    adults          INTEGER NOT NULL DEFAULT 1 CHECK (adults >= 0),
    children        INTEGER NOT NULL DEFAULT 0 CHECK (children >= 0),
    amount          INTEGER NOT NULL CHECK (amount >= 0),
    cost            INTEGER NOT NULL DEFAULT 0 CHECK (cost >= 0),
    due_date        TEXT,
    status          TEXT NOT NULL DEFAULT 'pending',
    source          TEXT,
    campaign        TEXT,
    owner_id        INTEGER NOT NULL REFERENCES users(id),
    team_id         INTEGER REFERENCES teams(id),
    room_type       TEXT,
    room_number     TEXT,
    check_in        TEXT,
    check_out       TEXT,
    nightly_rate    INTEGER CHECK (nightly_rate IS NULL OR nightly_rate >= 0),
    notes           TEXT,
    imported        INTEGER NOT NULL DEFAULT 0,
    created_by      INTEGER REFERENCES users(id),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    CHECK (return_date IS NULL OR travel_date IS NULL OR return_date >= travel_date)
);
CREATE INDEX orders_customer ON orders(customer_id, order_date);
CREATE INDEX orders_date ON orders(order_date);
CREATE INDEX orders_owner ON orders(owner_id, order_date);
CREATE INDEX orders_departure ON orders(departure_id);

-- Who travels on an order (always a customer record, so documents stay
-- sealed in one place); `departure_id` repeats the order's for the manifest.
CREATE TABLE order_travellers (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id      INTEGER NOT NULL REFERENCES orders(id),
    departure_id  INTEGER REFERENCES departures(id),
    customer_id   INTEGER NOT NULL REFERENCES customers(id),
    is_child      INTEGER NOT NULL DEFAULT 0,
    room          TEXT,
    notes         TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    version       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX order_travellers_order ON order_travellers(order_id);
CREATE INDEX order_travellers_departure ON order_travellers(departure_id);
CREATE INDEX order_travellers_customer ON order_travellers(customer_id);

-- A hotel stay's spend by outlet (room, F&B, spa, other).
CREATE TABLE order_charges (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     INTEGER NOT NULL REFERENCES orders(id),
    outlet       TEXT NOT NULL,
    description  TEXT,
    amount       INTEGER NOT NULL CHECK (amount >= 0),
    charged_on   TEXT NOT NULL,
    created_by   INTEGER REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX order_charges_order ON order_charges(order_id);

-- Receipts (收款) and refunds (退款) against an order; amounts are always
-- positive, the kind gives the sign.
CREATE TABLE receipts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    receipt_no   TEXT NOT NULL UNIQUE,
    order_id     INTEGER NOT NULL REFERENCES orders(id),
    customer_id  INTEGER NOT NULL REFERENCES customers(id),
    kind         TEXT NOT NULL,
    method       TEXT NOT NULL,
    amount       INTEGER NOT NULL CHECK (amount > 0),
    received_on  TEXT NOT NULL,
    overpayment  INTEGER NOT NULL DEFAULT 0,
    reference    TEXT,
    notes        TEXT,
    imported     INTEGER NOT NULL DEFAULT 0,
    created_by   INTEGER REFERENCES users(id),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX receipts_order ON receipts(order_id);
CREATE INDEX receipts_date ON receipts(received_on);
CREATE INDEX receipts_customer ON receipts(customer_id);

-- Built-in roles that exist already get the travel permissions (new
-- installations get them from the role defaults at start-up).
INSERT INTO role_permissions (role_id, permission, scope, created_at, updated_at)
SELECT r.id, g.permission, g.scope, 0, 0
FROM roles r JOIN (
              SELECT 'admin' AS role, 'catalog.read' AS permission, 'all' AS scope
    UNION ALL SELECT 'admin', 'catalog.write', 'all'
    UNION ALL SELECT 'admin', 'sales.read', 'all'
    UNION ALL SELECT 'admin', 'sales.write', 'all'
    UNION ALL SELECT 'admin', 'finance.read', 'all'
    UNION ALL SELECT 'admin', 'finance.write', 'all'
    UNION ALL SELECT 'manager', 'catalog.read', 'all'
    UNION ALL SELECT 'manager', 'catalog.write', 'all'
    UNION ALL SELECT 'manager', 'sales.read', 'team'
    UNION ALL SELECT 'manager', 'sales.write', 'team'
    UNION ALL SELECT 'manager', 'finance.read', 'team'
    UNION ALL SELECT 'sales', 'catalog.read', 'all'
    UNION ALL SELECT 'sales', 'sales.read', 'own'
    UNION ALL SELECT 'sales', 'sales.write', 'own'
    UNION ALL SELECT 'sales', 'finance.read', 'own'
    UNION ALL SELECT 'operator', 'catalog.read', 'all'
    UNION ALL SELECT 'operator', 'catalog.write', 'all'
    UNION ALL SELECT 'operator', 'sales.read', 'all'
    UNION ALL SELECT 'service', 'catalog.read', 'all'
    UNION ALL SELECT 'service', 'sales.read', 'all'
    UNION ALL SELECT 'finance', 'catalog.read', 'all'
    UNION ALL SELECT 'finance', 'sales.read', 'all'
    UNION ALL SELECT 'finance', 'finance.read', 'all'
    UNION ALL SELECT 'finance', 'finance.write', 'all'
    UNION ALL SELECT 'front_desk', 'catalog.read', 'all'
    UNION ALL SELECT 'front_desk', 'sales.read', 'all'
    UNION ALL SELECT 'front_desk', 'sales.write', 'all'
) g ON g.role = r.code AND r.builtin = 1
WHERE NOT EXISTS (SELECT 1 FROM role_permissions p WHERE p.role_id = r.id AND p.permission = g.permission);
