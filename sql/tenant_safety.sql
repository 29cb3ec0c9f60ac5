-- tenant_safety: assert_isolated() (a leak probe for users' CI) and
-- tenant_safety_checks() (what RLS cannot enforce, for the preflight).
CREATE ROLE rk_safe_owner;
CREATE ROLE rk_safe_app LOGIN;
CREATE ROLE rk_safe_admin LOGIN BYPASSRLS;
GRANT CREATE, USAGE ON SCHEMA public TO rk_safe_owner;
SET ROLE rk_safe_owner;
CREATE TABLE customers (id int PRIMARY KEY, tenant_id bigint NOT NULL, email text UNIQUE);
CREATE TABLE invoices (id int PRIMARY KEY, tenant_id bigint NOT NULL, customer_id int REFERENCES customers (id),
                       amount int);
CREATE TABLE contracts (id int, tenant_id bigint NOT NULL, customer_id int,
                        PRIMARY KEY (tenant_id, id));
CREATE TABLE forgotten (id int PRIMARY KEY, tenant_id bigint NOT NULL);
CREATE TABLE plain (id int PRIMARY KEY);
SELECT rowkeeper.enable_tenant_isolation('customers');
SELECT rowkeeper.enable_tenant_isolation('invoices');
SELECT rowkeeper.enable_tenant_isolation('contracts');
GRANT SELECT, INSERT, UPDATE, DELETE ON customers, invoices, contracts, forgotten TO rk_safe_app;
GRANT TRUNCATE ON invoices TO rk_safe_app;
GRANT SELECT ON customers TO rk_safe_admin;
CREATE VIEW big_invoices AS SELECT * FROM invoices WHERE amount > 100;
CREATE VIEW safe_invoices WITH (security_invoker = true) AS SELECT * FROM invoices;
RESET ROLE;
CREATE VIEW all_customers AS SELECT * FROM customers;
INSERT INTO customers VALUES (1, 10, 'a@ten'), (2, 10, 'b@ten'), (3, 20, 'a@twenty');
INSERT INTO invoices VALUES (1, 10, 1, 50), (2, 20, 3, 500);

------------------------------------------------------------------------------
-- assert_isolated()
------------------------------------------------------------------------------
-- tenants found in the table, probing as the owner
SELECT * FROM rowkeeper.assert_isolated('customers');
-- given tenants, probing as the application role
SELECT * FROM rowkeeper.assert_isolated('invoices', '20', '10', 'rk_safe_app');
-- an empty table: made-up tenants, read probes only
SELECT * FROM rowkeeper.assert_isolated('contracts');
-- a role that may only read: the write probes are refused by privilege,
-- which is no leak (not reported as one)
CREATE ROLE rk_safe_reader;
GRANT SELECT ON customers TO rk_safe_reader;
SELECT * FROM rowkeeper.assert_isolated('customers', '10', '20', 'rk_safe_reader');
REVOKE ALL ON customers FROM rk_safe_reader;
DROP ROLE rk_safe_reader;
-- what it does is rolled back; the role is back
SELECT count(*) AS customers, current_user FROM customers;
-- a leak: someone turned FORCE off, so the owner sees every tenant
ALTER TABLE customers NO FORCE ROW LEVEL SECURITY;
SELECT * FROM rowkeeper.assert_isolated('customers');
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
-- in token mode it signs its own tokens
SET rowkeeper.tenant_key = 'rk-safety-test-key-0123456789abcdef0123';
SET rowkeeper.tenant_mode = token;
SELECT check_name, ok FROM rowkeeper.assert_isolated('customers');
RESET rowkeeper.tenant_mode;
RESET rowkeeper.tenant_key;
-- bad input
SELECT * FROM rowkeeper.assert_isolated('plain');
SELECT * FROM rowkeeper.assert_isolated('customers', probe_role => 'rk_safe_admin');
SELECT * FROM rowkeeper.assert_isolated('customers', '10', '10');
SELECT * FROM rowkeeper.assert_isolated(NULL);

------------------------------------------------------------------------------
-- tenant_safety_checks()
------------------------------------------------------------------------------
ALTER ROLE rk_safe_app SET rowkeeper.tenant = '10';
SELECT * FROM rowkeeper.tenant_safety_checks() ORDER BY check_name, status, object;
-- naming the application roles
SELECT check_name, status, object FROM rowkeeper.tenant_safety_checks(app_roles => '{rk_safe_admin}')
 WHERE check_name LIKE 'app_role%' ORDER BY 1, 2, 3;
-- fixed one by one
ALTER ROLE rk_safe_app RESET rowkeeper.tenant;
SELECT rowkeeper.enable_tenant_isolation('forgotten');
REVOKE TRUNCATE ON invoices FROM rk_safe_app;
ALTER VIEW big_invoices SET (security_invoker = true);
DROP VIEW all_customers;
ALTER TABLE customers DROP CONSTRAINT customers_email_key;
ALTER TABLE invoices DROP CONSTRAINT invoices_customer_id_fkey;
SELECT check_name, status, object FROM rowkeeper.tenant_safety_checks() ORDER BY 1, 2, 3;
SELECT * FROM rowkeeper.tenant_safety_checks(NULL);

SELECT rowkeeper.disable_tenant_isolation(t) FROM unnest('{customers,invoices,contracts,forgotten}'::regclass[]) t;
DROP VIEW big_invoices, safe_invoices;
DROP TABLE customers, invoices, contracts, forgotten, plain;
DROP OWNED BY rk_safe_owner, rk_safe_app, rk_safe_admin;
DROP ROLE rk_safe_owner;
DROP ROLE rk_safe_app;
DROP ROLE rk_safe_admin;
