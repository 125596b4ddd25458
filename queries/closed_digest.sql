-- closed_digest: a digest of exactly what oversight.medians indexes (every closed request's closing
-- time, direction, current municipality, category, source and resolution time), so a saved index is
-- used only for the data it was built from (oversight.median_cache). One scan, no sort.
-- Rows: one; closed (count), digest (text).
select
    count(*) as closed,
    coalesce(sum(hash(closed_at, territory_id, current_municipality_id, category_id, source, resolution_us)), 0)::varchar
        || '-' || coalesce(max(closed_at)::varchar, '') as digest
from ticket_facts
where closed_at is not null
