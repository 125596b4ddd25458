-- closed_digest: a digest of exactly what oversight.medians indexes (every closed request's closing
-- time, direction, current municipality, category, source and resolution time), so a saved index is
-- used only for the data it was built from (oversight.median_cache). A sum of row hashes, so an
-- import's effect on it can be checked from the rows it changed alone. One scan, no sort.
-- Rows: one; closed (count), digest (the sum, as text: it exceeds 64 bits).
select
    count(*) as closed,
    coalesce(sum(hash(closed_at, territory_id, current_municipality_id, category_id, source, resolution_us)), 0)::varchar
        as digest
from ticket_facts
where closed_at is not null
