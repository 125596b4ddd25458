-- Derived tables. municipality_rollup: every municipality, current or historical, with the
-- current municipality it rolls up to and that one's direction. ticket_facts: the tickets with what every query needs precomputed, so that no
-- query joins or recomputes per row. Rebuilt by oversight.store whenever tickets or
-- municipalities are written. Not a query itself (files starting with "_" are not runnable).
--   current_municipality_id, territory_id: the roll-up of the recorded municipality to today's
--     (following successor_id chains), and today's direction;
--   resolution_us: closed_at - created_at in microseconds (null while open), for exact medians;
--   rating, has_text: the resident's rating and whether there is a text (choosing examples).
-- Rows are ordered by created_at so DuckDB's per-row-group min/max skip most of the table for
-- period filters (closed_at and due_at follow created_at closely).
-- (municipality_rollup, ticket_facts_rows and ageing_thresholds: queries/_build_rollup.sql, run first.)

create or replace table ticket_facts as
select * from ticket_facts_rows
order by created_at;

-- ticket_facts_by_org: the same rows ordered by organisation, so a query about one organisation
-- reads a row group or two (DuckDB's per-row-group min/max) instead of scanning every request: the
-- drill-down's organisation level and any page with an organisation filter. scoped_tickets picks it
-- when an organisation is chosen.
create or replace table ticket_facts_by_org as
select *
from ticket_facts
order by organization_id, created_at;
