CREATE SCHEMA c;
CREATE TABLE c.customers (id integer PRIMARY KEY, email text, owner name DEFAULT current_user);
CREATE TABLE c.lines (id integer PRIMARY KEY, qty integer);
ALTER TABLE c.customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE c.customers FORCE ROW LEVEL SECURITY;
ALTER TABLE c.lines ENABLE ROW LEVEL SECURITY;
CREATE POLICY customers_self ON c.customers FOR SELECT USING (owner = current_user OR email LIKE '%@admin');
CREATE POLICY customers_block ON c.customers AS RESTRICTIVE FOR UPDATE TO PUBLIC USING (true) WITH CHECK (email IS NOT NULL);
CREATE POLICY "lines: small qty" ON c.lines FOR INSERT WITH CHECK (qty < 1000);
COMMENT ON POLICY customers_self ON c.customers IS 'own rows and admins';
-- rows: INSERT INTO c.customers (id, email) VALUES (1, 'a@x')
-- rows: INSERT INTO c.lines VALUES (1, 5)
