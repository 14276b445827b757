-- A rich schema for the engine's replay proofs: every object kind pgGit tracks, cross-schema
-- references, view <-> function dependencies, partitions and quoted/unicode names.
-- Loads into a fresh database on PostgreSQL 15 and 18, one statement at a time (psql -f), so
-- that each statement is captured as a commit. Uses only core features of PostgreSQL 15 and
-- the citext contrib extension (shipped with both the system PG15 and the embedded PG18;
-- pgcrypto is not in the embedded build).

-- ---------------------------------------------------------------- extension, schemas
CREATE EXTENSION citext WITH SCHEMA public;

CREATE SCHEMA inventory;
COMMENT ON SCHEMA inventory IS 'Stock, products and warehouses';
CREATE SCHEMA "Sales Dept";
CREATE SCHEMA "odd ""names"" é; select";

-- ---------------------------------------------------------------- types
CREATE TYPE public.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');
COMMENT ON TYPE public.order_status IS 'Life cycle of an order';
CREATE TYPE public.address AS (street text, city text, zip character varying(10));
COMMENT ON TYPE public.address IS 'Postal address';
CREATE DOMAIN public.positive_money AS numeric(12,2) NOT NULL DEFAULT 0
    CONSTRAINT positive_money_check CHECK (VALUE >= 0);
CREATE DOMAIN public.email AS public.citext
    CONSTRAINT email_has_at CHECK (strpos(VALUE::text, '@') > 1);
COMMENT ON DOMAIN public.email IS 'An e-mail address, compared case-insensitively';
CREATE TYPE public.floatrange AS RANGE (subtype = double precision, subtype_diff = float8mi);
CREATE TYPE "Sales Dept"."Deal Stage" AS ENUM ('lead', 'won', 'lost');

-- ---------------------------------------------------------------- sequences
CREATE SEQUENCE inventory.sku_seq AS integer INCREMENT BY 5 MINVALUE 100 MAXVALUE 999999 START WITH 100 CACHE 1 CYCLE;
COMMENT ON SEQUENCE inventory.sku_seq IS 'Stock keeping unit numbers';
CREATE SEQUENCE public.invoice_no_seq START WITH 1000;

-- ---------------------------------------------------------------- tables
CREATE TABLE public.customers (
    id bigint GENERATED ALWAYS AS IDENTITY (START WITH 1000 INCREMENT BY 10) PRIMARY KEY,
    email public.email NOT NULL,
    name text COLLATE "C" NOT NULL DEFAULT '',
    address public.address,
    tags text[] DEFAULT '{}'::text[],
    score double precision,
    profile jsonb,
    active boolean DEFAULT true,
    created_at timestamp with time zone NOT NULL DEFAULT now(),
    updated_at timestamp with time zone,
    CONSTRAINT customers_email_key UNIQUE (email)
);
COMMENT ON TABLE public.customers IS 'People who order';
COMMENT ON COLUMN public.customers.email IS 'Login and contact address';

CREATE TABLE inventory.warehouses (
    code character(4) PRIMARY KEY,
    name character varying(200) NOT NULL,
    capacity integer CONSTRAINT warehouses_capacity_check CHECK (capacity > 0),
    location point,
    opened date DEFAULT CURRENT_DATE
);

CREATE TABLE inventory.products (
    id serial PRIMARY KEY,
    sku integer NOT NULL DEFAULT nextval('inventory.sku_seq'::regclass),
    name text NOT NULL,
    price public.positive_money,
    weight_kg numeric(8,3),
    price_with_tax numeric GENERATED ALWAYS AS ((price * 1.2)) STORED,
    warehouse character(4) REFERENCES inventory.warehouses (code) ON DELETE SET NULL ON UPDATE CASCADE,
    CONSTRAINT products_sku_key UNIQUE (sku),
    CONSTRAINT products_weight_check CHECK (weight_kg IS NULL OR weight_kg > 0)
);
COMMENT ON COLUMN inventory.products.price_with_tax IS 'Computed: price plus 20% tax';

-- Range partitioning with a default partition.
CREATE TABLE public.orders (
    id bigint NOT NULL DEFAULT nextval('public.invoice_no_seq'::regclass),
    customer_id bigint NOT NULL REFERENCES public.customers (id) ON DELETE CASCADE,
    ordered_on date NOT NULL,
    status public.order_status NOT NULL DEFAULT 'new',
    total numeric(12,2) NOT NULL DEFAULT 0,
    note text,
    CONSTRAINT orders_pkey PRIMARY KEY (id, ordered_on),
    CONSTRAINT orders_total_check CHECK (total >= 0)
) PARTITION BY RANGE (ordered_on);
CREATE TABLE public.orders_2024 PARTITION OF public.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE public.orders_2025 PARTITION OF public.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE public.orders_default PARTITION OF public.orders DEFAULT;
ALTER SEQUENCE public.invoice_no_seq OWNED BY public.orders.id;

-- Composite and cross-schema foreign keys, quoted names.
CREATE TABLE "Sales Dept"."Order Lines" (
    order_id bigint NOT NULL,
    ordered_on date NOT NULL,
    line_no smallint NOT NULL,
    product_id integer NOT NULL,
    qty integer NOT NULL,
    "Unit Price" numeric(12,2),
    "Deal" "Sales Dept"."Deal Stage" DEFAULT 'lead',
    CONSTRAINT "Order Lines_pkey" PRIMARY KEY (order_id, ordered_on, line_no),
    CONSTRAINT "Order Lines_order_fkey" FOREIGN KEY (order_id, ordered_on)
        REFERENCES public.orders (id, ordered_on) ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT "Order Lines_product_fkey" FOREIGN KEY (product_id)
        REFERENCES inventory.products (id) ON DELETE RESTRICT DEFERRABLE INITIALLY DEFERRED,
    CONSTRAINT "qty > 0" CHECK (qty > 0)
);
COMMENT ON TABLE "Sales Dept"."Order Lines" IS 'One line per product of an order';

-- List partitioning, one partition itself partitioned.
CREATE TABLE inventory.stock_moves (
    id bigint NOT NULL,
    region text NOT NULL,
    product_id integer REFERENCES inventory.products (id) ON DELETE SET NULL,
    qty integer NOT NULL,
    moved_at timestamp without time zone NOT NULL DEFAULT LOCALTIMESTAMP
) PARTITION BY LIST (region);
CREATE TABLE inventory.stock_moves_eu PARTITION OF inventory.stock_moves FOR VALUES IN ('eu', 'uk');
CREATE TABLE inventory.stock_moves_us PARTITION OF inventory.stock_moves FOR VALUES IN ('us')
    PARTITION BY RANGE (moved_at);
CREATE TABLE inventory.stock_moves_us_2025 PARTITION OF inventory.stock_moves_us
    FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

-- Inheritance.
CREATE TABLE public.events (
    id bigint NOT NULL,
    happened_at timestamp with time zone NOT NULL DEFAULT now(),
    payload jsonb
);
CREATE TABLE public.login_events (
    user_agent text,
    CONSTRAINT login_events_agent_check CHECK (user_agent <> '')
) INHERITS (public.events);

-- Exclusion constraints on range types (gist, no extension needed).
CREATE TABLE inventory.reservations (
    id integer GENERATED BY DEFAULT AS IDENTITY (START WITH 10 INCREMENT BY 2 MINVALUE 10 MAXVALUE 100000 CACHE 5) PRIMARY KEY,
    room integer NOT NULL,
    during tstzrange NOT NULL,
    temperature public.floatrange,
    CONSTRAINT reservations_no_overlap EXCLUDE USING gist (during WITH &&),
    CONSTRAINT reservations_temperature_excl EXCLUDE USING gist (temperature WITH =) WHERE (room > 0)
);

-- Quoted and unicode names: spaces, double quotes, accents, a semicolon, SQL keywords.
CREATE TABLE "odd ""names"" é; select"."select" (
    "from" integer PRIMARY KEY,
    "Mixed Case" text,
    "with ""quotes""" text DEFAULT 'it''s',
    "café;drop" text,
    "日本語" text,
    "order" integer UNIQUE
);
COMMENT ON COLUMN "odd ""names"" é; select"."select"."from" IS 'a keyword as a column; with a semicolon';

-- ---------------------------------------------------------------- indexes
CREATE UNIQUE INDEX customers_lower_name_idx ON public.customers (lower(name)) WHERE active;
CREATE INDEX customers_tags_idx ON public.customers USING gin (tags);
CREATE INDEX orders_status_idx ON public.orders (status) WHERE status <> 'cancelled'::public.order_status;
CREATE INDEX products_name_price_idx ON inventory.products (name, price DESC NULLS LAST) INCLUDE (weight_kg);
CREATE INDEX "Order Lines product idx" ON "Sales Dept"."Order Lines" (product_id, qty);
CREATE INDEX "idx; ""select""" ON "odd ""names"" é; select"."select" (lower("Mixed Case"), "日本語");
CREATE INDEX events_happened_brin ON public.events USING brin (happened_at);
COMMENT ON INDEX inventory.products_name_price_idx IS 'Catalogue search';

-- ---------------------------------------------------------------- functions, procedures, aggregates
CREATE FUNCTION public.order_total_with_tax(p_total numeric, p_rate numeric DEFAULT 0.2)
    RETURNS numeric LANGUAGE sql IMMUTABLE
    AS $$ SELECT round(p_total * (1 + p_rate), 2) $$;
COMMENT ON FUNCTION public.order_total_with_tax(numeric, numeric) IS 'Total including tax';

CREATE FUNCTION public.add_tax(p_amount numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    BEGIN ATOMIC
        SELECT p_amount * 1.2;
    END;
CREATE FUNCTION public.add_tax(p_amount integer) RETURNS numeric
    LANGUAGE sql IMMUTABLE
    RETURN p_amount * 1.2;

CREATE FUNCTION inventory.products_in(p_warehouse character(4)) RETURNS SETOF inventory.products
    LANGUAGE sql STABLE
    AS $$ SELECT * FROM inventory.products WHERE warehouse = p_warehouse $$;

CREATE FUNCTION public.customer_orders(p_customer bigint, p_since date DEFAULT '2024-01-01')
    RETURNS TABLE(order_id bigint, total numeric)
    LANGUAGE plpgsql STABLE
    SET search_path = public
    AS $$
BEGIN
    RETURN QUERY SELECT o.id, o.total FROM public.orders o
        WHERE o.customer_id = p_customer AND o.ordered_on >= p_since;
END
$$;

CREATE FUNCTION public.concat_sfunc(p_state text, p_value text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN p_state IS NULL THEN p_value ELSE p_state || ', ' || p_value END $$;
CREATE AGGREGATE public.comma_join(text) (SFUNC = public.concat_sfunc, STYPE = text);
COMMENT ON AGGREGATE public.comma_join(text) IS 'Joins values with commas';

CREATE FUNCTION public.touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;
CREATE FUNCTION inventory.log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE '% on %', TG_OP, TG_TABLE_NAME;
    RETURN NULL;
END
$$;
CREATE FUNCTION public.orders_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.total < 0 THEN
        RAISE EXCEPTION 'negative total';
    END IF;
    RETURN NEW;
END
$$;

CREATE PROCEDURE inventory.restock(IN p_product integer, IN p_qty integer DEFAULT 1, IN p_region text DEFAULT 'eu')
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO inventory.stock_moves (id, region, product_id, qty)
    VALUES ((SELECT coalesce(max(id), 0) + 1 FROM inventory.stock_moves), p_region, p_product, p_qty);
END
$$;
COMMENT ON PROCEDURE inventory.restock(integer, integer, text) IS 'Adds stock';

CREATE FUNCTION "odd ""names"" é; select"."do; it"("select" integer, "Le Café" text DEFAULT 'noir')
    RETURNS text LANGUAGE sql IMMUTABLE
    AS $$ SELECT "Le Café" || ';' || "select" $$;

-- ---------------------------------------------------------------- views and materialized views
-- table -> function -> view -> function -> view, across schemas.
CREATE VIEW public.order_summary AS
    SELECT o.id, o.ordered_on, c.name AS customer, o.status,
           public.order_total_with_tax(o.total) AS total_with_tax
    FROM public.orders o JOIN public.customers c ON c.id = o.customer_id;
COMMENT ON VIEW public.order_summary IS 'Orders with their customer and taxed total';
COMMENT ON COLUMN public.order_summary.total_with_tax IS 'Total including 20% tax';

CREATE FUNCTION public.big_orders(p_min numeric DEFAULT 1000) RETURNS SETOF public.order_summary
    LANGUAGE sql STABLE
    BEGIN ATOMIC
        SELECT * FROM public.order_summary WHERE total_with_tax >= p_min;
    END;

CREATE VIEW "Sales Dept"."Big Orders" AS
    SELECT b.id, b.customer, b.total_with_tax FROM public.big_orders() b;

CREATE VIEW "Sales Dept"."Top ""Customers""" WITH (security_barrier = true) AS
    SELECT customer, public.comma_join(id::text) AS order_ids, count(*) AS n
    FROM "Sales Dept"."Big Orders" GROUP BY customer;

CREATE VIEW public.active_customers AS
    SELECT id, email, name, active FROM public.customers WHERE active
    WITH CASCADED CHECK OPTION;

CREATE VIEW public.active_vip_customers AS
    SELECT id, email, name, active FROM public.active_customers WHERE name <> ''
    WITH LOCAL CHECK OPTION;

CREATE MATERIALIZED VIEW inventory.product_stock AS
    SELECT p.id, p.name, coalesce(sum(m.qty), 0) AS on_hand
    FROM inventory.products p LEFT JOIN inventory.stock_moves m ON m.product_id = p.id
    GROUP BY p.id, p.name
    WITH NO DATA;
CREATE UNIQUE INDEX product_stock_id_idx ON inventory.product_stock (id);
COMMENT ON MATERIALIZED VIEW inventory.product_stock IS 'Stock on hand per product';

-- ---------------------------------------------------------------- triggers
CREATE TRIGGER customers_touch BEFORE UPDATE ON public.customers
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION public.touch_updated_at();
CREATE TRIGGER products_log AFTER INSERT OR DELETE OR TRUNCATE ON inventory.products
    FOR EACH STATEMENT EXECUTE FUNCTION inventory.log_statement();
CREATE TRIGGER orders_guard BEFORE INSERT OR UPDATE OF total ON public.orders
    FOR EACH ROW EXECUTE FUNCTION public.orders_guard();
CREATE FUNCTION public.order_summary_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.orders (customer_id, ordered_on, status) VALUES (1, NEW.ordered_on, NEW.status);
    RETURN NEW;
END
$$;
CREATE TRIGGER order_summary_insert INSTEAD OF INSERT ON public.order_summary
    FOR EACH ROW EXECUTE FUNCTION public.order_summary_insert();
CREATE TRIGGER "on ""select"";" AFTER UPDATE ON "odd ""names"" é; select"."select"
    FOR EACH ROW WHEN (OLD."Mixed Case" IS DISTINCT FROM NEW."Mixed Case")
    EXECUTE FUNCTION inventory.log_statement();
COMMENT ON TRIGGER customers_touch ON public.customers IS 'Keeps updated_at current';

-- ---------------------------------------------------------------- row-level security
ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;
CREATE POLICY customers_self ON public.customers FOR SELECT
    USING (lower(email::text) = lower(current_setting('app.email', true)));
CREATE POLICY customers_admin ON public.customers AS RESTRICTIVE FOR ALL TO PUBLIC
    USING (current_setting('app.role', true) IS DISTINCT FROM 'blocked');
ALTER TABLE "Sales Dept"."Order Lines" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "Sales Dept"."Order Lines" FORCE ROW LEVEL SECURITY;
CREATE POLICY "lines: small qty" ON "Sales Dept"."Order Lines" FOR INSERT
    WITH CHECK (qty < 1000);
CREATE POLICY lines_read ON "Sales Dept"."Order Lines" FOR SELECT USING (true);
COMMENT ON POLICY customers_self ON public.customers IS 'A customer sees their own row';

-- ---------------------------------------------------------------- dependencies on later objects
-- Tables, indexes, constraints and policies that use functions created after the tables.
-- (A dependency cycle, a default calling a function whose body reads the same table, has its
-- own test in test_replay.py.)
CREATE FUNCTION inventory.valid_code(p_code text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE
    AS $$ BEGIN RETURN p_code ~ '^[A-Z0-9]{4}$'; END $$;
ALTER TABLE inventory.warehouses ADD CONSTRAINT warehouses_code_check CHECK (inventory.valid_code(code::text));
CREATE FUNCTION inventory.default_region() RETURNS text LANGUAGE sql IMMUTABLE RETURN 'eu';
ALTER TABLE inventory.stock_moves ALTER COLUMN region SET DEFAULT inventory.default_region();
ALTER TABLE inventory.products ADD COLUMN price_gross numeric GENERATED ALWAYS AS (public.add_tax((price)::numeric)) STORED;
CREATE INDEX orders_taxed_total_idx ON public.orders (public.add_tax(total));
CREATE FUNCTION public.customer_count() RETURNS bigint LANGUAGE sql STABLE
    BEGIN ATOMIC
        SELECT count(*) FROM public.customers;
    END;
ALTER TABLE public.orders ALTER COLUMN note SET DEFAULT ('order #' || (public.customer_count() + 1));
CREATE FUNCTION public.is_visible(p_customer bigint) RETURNS boolean LANGUAGE sql STABLE
    AS $$ SELECT p_customer IS NOT NULL $$;
CREATE POLICY customers_visible ON public.customers FOR UPDATE USING (public.is_visible(id));
COMMENT ON CONSTRAINT products_sku_key ON inventory.products IS 'One product per SKU';
COMMENT ON COLUMN public.orders.status IS 'See type order_status';
COMMENT ON EXTENSION citext IS 'case-insensitive text (used by public.email)';
