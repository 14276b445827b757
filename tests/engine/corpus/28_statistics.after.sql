CREATE SCHEMA st;
CREATE TABLE st.t (id integer PRIMARY KEY, a integer, b integer, c text);
CREATE STATISTICS st.t_ab (dependencies) ON a, b FROM st.t;
ALTER STATISTICS st.t_ab SET STATISTICS 100;
CREATE STATISTICS st.t_ac (ndistinct) ON a, c FROM st.t;
CREATE STATISTICS st.t_bc ON b, c FROM st.t;
COMMENT ON STATISTICS st.t_bc IS 'b and c';
-- rows: INSERT INTO st.t VALUES (1, 1, 2, 'x')
