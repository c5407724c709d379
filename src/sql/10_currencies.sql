-- 10_currencies.sql: ISO 4217 currencies and their minor-unit exponent.
-- Amounts everywhere are bigint minor units of one of these.

CREATE TABLE escrow.currencies (
    code     text PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    exponent smallint NOT NULL CHECK (exponent BETWEEN 0 AND 4),
    name     text NOT NULL,
    builtin  boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE escrow.currencies IS
    'ISO 4217 currencies accepted by escrowpay; exponent is the number of minor-unit digits (USD 2, JPY 0, KWD 3); builtin rows come with the extension';

INSERT INTO escrow.currencies (code, exponent, name, builtin)
SELECT code, exponent, name, true FROM (VALUES
    ('AED', 2, 'UAE Dirham'), ('ARS', 2, 'Argentine Peso'),
    ('AUD', 2, 'Australian Dollar'), ('BHD', 3, 'Bahraini Dinar'),
    ('BRL', 2, 'Brazilian Real'), ('CAD', 2, 'Canadian Dollar'),
    ('CHF', 2, 'Swiss Franc'), ('CLP', 0, 'Chilean Peso'),
    ('CNY', 2, 'Yuan Renminbi'), ('COP', 2, 'Colombian Peso'),
    ('CZK', 2, 'Czech Koruna'), ('DKK', 2, 'Danish Krone'),
    ('EGP', 2, 'Egyptian Pound'), ('EUR', 2, 'Euro'),
    ('GBP', 2, 'Pound Sterling'), ('HKD', 2, 'Hong Kong Dollar'),
    ('HUF', 2, 'Forint'), ('IDR', 2, 'Rupiah'),
    ('ILS', 2, 'New Israeli Sheqel'), ('INR', 2, 'Indian Rupee'),
    ('ISK', 0, 'Iceland Krona'), ('JOD', 3, 'Jordanian Dinar'),
    ('JPY', 0, 'Yen'), ('KES', 2, 'Kenyan Shilling'),
    ('KRW', 0, 'Won'), ('KWD', 3, 'Kuwaiti Dinar'),
    ('MXN', 2, 'Mexican Peso'), ('MYR', 2, 'Malaysian Ringgit'),
    ('NGN', 2, 'Naira'), ('NOK', 2, 'Norwegian Krone'),
    ('NZD', 2, 'New Zealand Dollar'), ('OMR', 3, 'Rial Omani'),
    ('PEN', 2, 'Sol'), ('PHP', 2, 'Philippine Peso'),
    ('PLN', 2, 'Zloty'), ('SAR', 2, 'Saudi Riyal'),
    ('SEK', 2, 'Swedish Krona'), ('SGD', 2, 'Singapore Dollar'),
    ('THB', 2, 'Baht'), ('TND', 3, 'Tunisian Dinar'),
    ('TRY', 2, 'Turkish Lira'), ('TWD', 2, 'New Taiwan Dollar'),
    ('UGX', 0, 'Uganda Shilling'), ('USD', 2, 'US Dollar'),
    ('VND', 0, 'Dong'), ('XAF', 0, 'CFA Franc BEAC'),
    ('XOF', 0, 'CFA Franc BCEAO'), ('ZAR', 2, 'Rand')) AS iso (code, exponent, name);

-- Currencies an administrator adds later are dumped with the database.
SELECT pg_catalog.pg_extension_config_dump('escrow.currencies', 'WHERE NOT builtin');
