-- The search box's index: every suffix of a customer's name and employer,
-- the digits of each phone last digit first, and second surname readings,
-- each prefixed with a one-letter tag (see domain::customer::fragment_keys).
-- A fragment, or the last digits of a phone, is then a prefix search here
-- instead of a scan of every customer. Filled by the application (the keys
-- need pinyin); an existing archive is indexed on the first start. Keys
-- are removed by recomputing them from the old values, so there is no
-- second index by customer.
-- Byte order ("C") so that a prefix is a range whatever the database's
-- collation; the pinyin, initials and mobile columns likewise, as their
-- prefix searches are ranges too.

CREATE TABLE customer_search (
    k            TEXT COLLATE "C" NOT NULL,
    customer_id  BIGINT NOT NULL REFERENCES customers(id),
    PRIMARY KEY (k, customer_id)
);

ALTER TABLE customers ALTER COLUMN name_pinyin TYPE TEXT COLLATE "C";
ALTER TABLE customers ALTER COLUMN name_initials TYPE TEXT COLLATE "C";
ALTER TABLE customers ALTER COLUMN mobile TYPE TEXT COLLATE "C";

-- Merged customers are found through their survivor.
CREATE INDEX customers_merged_into ON customers(merged_into_id) WHERE merged_into_id IS NOT NULL;
