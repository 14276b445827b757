-- Row-level security: ENABLE/FORCE, permissive and restrictive policies, USING and WITH CHECK.
CREATE SCHEMA c;
CREATE TABLE c.customers (id integer PRIMARY KEY, email text, owner name DEFAULT current_user);
CREATE TABLE c.lines (id integer PRIMARY KEY, qty integer);
ALTER TABLE c.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY customers_self ON c.customers FOR SELECT USING (owner = current_user);
CREATE POLICY customers_block ON c.customers AS RESTRICTIVE FOR ALL TO PUBLIC USING (current_setting('app.blocked', true) IS DISTINCT FROM 'yes');
CREATE POLICY customers_gone ON c.customers FOR DELETE USING (false);
-- rows: INSERT INTO c.customers (id, email) VALUES (1, 'a@x')
-- rows: INSERT INTO c.lines VALUES (1, 5)
