-- Extended statistics are objects of their own: created after their table, dropped and made again
-- when their definition changes; their statistics target is altered in place.
CREATE SCHEMA st;
CREATE TABLE st.t (id integer PRIMARY KEY, a integer, b integer, c text);
CREATE STATISTICS st.t_ab (dependencies) ON a, b FROM st.t;
ALTER STATISTICS st.t_ab SET STATISTICS 500;
CREATE STATISTICS st.t_ac (ndistinct, mcv) ON a, c FROM st.t;
CREATE STATISTICS st.t_expr ON (a + b), c FROM st.t;
COMMENT ON STATISTICS st.t_ac IS 'a and c go together';
-- rows: INSERT INTO st.t VALUES (1, 1, 2, 'x')
